package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"custos/internal/apierror"
	"custos/internal/auth"
	"custos/internal/cors"
)

// newFallbackTransport talks to a remote upstream: the environment's
// proxy settings apply and TLS is negotiated as usual.
func newFallbackTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// hopHeaders are per-connection headers a proxy must not forward.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// copyRequestHeaders passes a client's headers on to an upstream.
func copyRequestHeaders(dst, src http.Header) {
	for k, vv := range src {
		dst[k] = append(dst[k][:0:0], vv...)
	}
	dropHopHeaders(dst, src)
}

// clientCredentials are the headers that carry a client's key for
// custos: no upstream is given them. X-Api-Key is where Anthropic's
// clients put it (llama-server reads it too).
var clientCredentials = []string{"Authorization", "X-Api-Key"}

// copyResponseHeaders passes an upstream's headers on to the client, but
// not its CORS headers: cross-origin access is custos's policy (package
// cors), whose headers may already be set and are kept, as is a Vary
// custos set.
func copyResponseHeaders(dst, src http.Header) {
	for k, vv := range src {
		switch {
		case cors.IsCORSHeader(k):
		case k == "Vary":
			dst[k] = append(dst[k], vv...)
		default:
			dst[k] = append(dst[k][:0:0], vv...)
		}
	}
	dropHopHeaders(dst, src)
}

func dropHopHeaders(dst, src http.Header) {
	if c := src.Get("Connection"); c != "" {
		for _, f := range strings.Split(c, ",") {
			dst.Del(strings.TrimSpace(f))
		}
	}
	for _, h := range hopHeaders {
		dst.Del(h)
	}
}

// upstreamURL is base joined with the client's path, less trimPrefix,
// and its query string, which the upstream must see as the client sent it.
func upstreamURL(base string, u *url.URL, trimPrefix string) string {
	s := base + strings.TrimPrefix(u.EscapedPath(), trimPrefix)
	if u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	return s
}

// unavailableDrain bounds what is read of a 503 that is not passed on, so
// that its connection can be kept when the answer is short.
const unavailableDrain = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// outcome is how one attempt to forward a request ended.
type outcome int

const (
	// delivered: the whole response reached the client.
	delivered outcome = iota
	// retryable: the attempt failed before any byte reached the client.
	retryable
	// clientGone: the client went away.
	clientGone
	// interrupted: the upstream failed after the response had begun to
	// reach the client. An event stream was ended with one error event; a
	// plain body is cut short, and the connection must be aborted so the
	// client cannot take it for complete.
	interrupted
)

// attempt is one forwarding of a request to one upstream.
type attempt struct {
	url    string
	body   []byte
	header http.Header // extra headers for the upstream (fallback auth)
	// dropHeaders are client headers the upstream must not see.
	dropHeaders []string
	// responseHeader is set on the client's response before it is committed.
	responseHeader map[string]string
	transport      http.RoundTripper
	route          *route
	// model is the model the client asked for, as a JSON string: a JSON
	// answer and each event of a stream are made to name it.
	model []byte
	// retryUnavailable: a 503 answer is not passed on but makes the
	// attempt retryable (another replica may serve what this one refused).
	retryUnavailable bool
}

// result says what happened, for the caller's retry decision and metrics.
type result struct {
	outcome outcome
	status  int // the status the client got, when the response began
	sse     bool
	err     error
	// firstByte is when the answer's first bytes went to the client
	// (zero: none did), and tokens its completion tokens (tokenCounter).
	firstByte time.Time
	tokens    int
}

// forward sends one attempt and streams the answer back. Nothing reaches
// the client until the first body bytes have: a backend that dies right
// after its headers counts as "nothing reached the client", and the
// request can be tried again. An event stream is passed on whole event by
// whole event (sseFramer), flushed as each arrives.
//
// ctx may end before the client's request does (the fallback's timeout):
// only r's own context ending means the client went away.
func forward(ctx context.Context, w http.ResponseWriter, r *http.Request, a attempt, onFirstByte func()) result {
	out, err := http.NewRequestWithContext(ctx, r.Method, a.url, bytes.NewReader(a.body))
	if err != nil {
		return result{outcome: retryable, err: err}
	}
	copyRequestHeaders(out.Header, r.Header)
	for _, h := range a.dropHeaders {
		out.Header.Del(h)
	}
	auth.DropSessionCookie(out.Header)
	for k, vv := range a.header {
		out.Header[k] = vv
	}
	out.ContentLength = int64(len(a.body))
	out.Header.Del("Content-Length")

	resp, err := a.transport.RoundTrip(out)
	if err != nil {
		return failed(r, result{outcome: retryable, err: err})
	}
	defer resp.Body.Close()
	if a.retryUnavailable && resp.StatusCode == http.StatusServiceUnavailable {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, unavailableDrain))
		return failed(r, result{outcome: retryable, status: resp.StatusCode, err: errors.New("answered 503 Service Unavailable")})
	}

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	s := stream{w: w, rc: http.NewResponseController(w), r: r, resp: resp, a: a, onFirstByte: onFirstByte, buf: *bp, tokens: newTokenCounter()}
	// A compressed answer is passed on as it came: its model is not read.
	rewritable := len(a.model) > 0 && resp.Header.Get("Content-Encoding") == ""
	switch ct := resp.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "text/event-stream"):
		s.framer = newSSEFramer()
		s.rewriting = rewritable
	case strings.HasPrefix(ct, "application/json"):
		s.rewriting = rewritable
		s.json = true
	}
	s.rewriter.quoted = a.model
	return s.run()
}

// failed is res, or clientGone when the client's own request has ended:
// a failure caused by the client leaving is not the upstream's.
func failed(r *http.Request, res result) result {
	if r.Context().Err() != nil {
		res.outcome, res.err = clientGone, r.Context().Err()
	}
	return res
}

// stream copies one upstream response to the client.
type stream struct {
	w           http.ResponseWriter
	rc          *http.ResponseController
	r           *http.Request
	resp        *http.Response
	a           attempt
	onFirstByte func()
	buf         []byte
	framer      *sseFramer    // nil for a plain body
	rewriting   bool          // false: the answer passes as it comes
	rewriter    modelRewriter // names the requested model in the answer
	committed   bool          // the status line has been written to the client
	json        bool          // a JSON body
	tokens      tokenCounter
	firstByte   time.Time
}

// run copies the answer and says how it went.
func (s *stream) run() result {
	res := s.copyBody()
	res.firstByte, res.tokens = s.firstByte, s.tokens.tokens()
	return res
}

// count passes bytes about to go to the client to the token counter.
func (s *stream) count(p []byte) {
	switch {
	case s.framer != nil && !s.framer.lost:
		s.tokens.sseEvents(p)
	case s.json:
		s.tokens.jsonBody(p)
	}
}

func (s *stream) copyBody() result {
	res := result{status: s.resp.StatusCode, sse: s.framer != nil}
	for {
		n, err := s.resp.Body.Read(s.buf)
		if n > 0 {
			out := s.buf[:n]
			if s.framer != nil {
				out = s.framer.feed(out)
			}
			out = s.rewrite(out)
			if len(out) > 0 {
				s.count(out)
				if werr := s.write(out); werr != nil {
					res.outcome, res.err = clientGone, werr
					return res
				}
			}
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF):
			if rest := s.rest(); len(rest) > 0 {
				s.count(rest)
				if werr := s.write(rest); werr != nil {
					res.outcome, res.err = clientGone, werr
					return res
				}
			}
			if !s.committed {
				s.commit() // an empty body
			}
			res.outcome = delivered
			return res
		case !s.committed:
			return failed(s.r, result{outcome: retryable, err: err})
		}
		res = failed(s.r, result{outcome: interrupted, status: res.status, sse: res.sse, err: err})
		if res.outcome == interrupted && s.framer != nil {
			s.endWithError(err)
		}
		return res
	}
}

// rewrite names the requested model in the bytes about to pass on: in each
// whole event of a stream, or in the JSON body. A stream the framer no
// longer cuts into events passes as it comes.
func (s *stream) rewrite(p []byte) []byte {
	switch {
	case !s.rewriting || len(p) == 0:
		return p
	case s.framer == nil:
		out, _ := s.rewriter.feed(p)
		return out
	case s.framer.lost:
		return p
	}
	return s.rewriter.rewriteEvents(p)
}

// rest is what is held back at the end of the body: the last event of a
// stream without its blank line, or a model value a JSON body cut short.
func (s *stream) rest() []byte {
	switch {
	case s.framer != nil:
		return s.rewrite(s.framer.rest())
	case s.rewriting:
		return s.rewriter.flush()
	}
	return nil
}

// commit writes the status line and headers.
func (s *stream) commit() {
	h := s.w.Header()
	copyResponseHeaders(h, s.resp.Header)
	if rw := &s.rewriter; s.rewriting && s.framer == nil && (rw.changed || !rw.doc.done) {
		// The body's length is the upstream's plus what the rewriting
		// changed, if it is done; otherwise it is not known yet.
		h.Del("Content-Length")
		if rw.doc.done && s.resp.ContentLength >= 0 {
			h.Set("Content-Length", strconv.FormatInt(s.resp.ContentLength+rw.delta, 10))
		}
	}
	for k, v := range s.a.responseHeader {
		h.Set(k, v)
	}
	s.w.WriteHeader(s.resp.StatusCode)
	s.committed, s.firstByte = true, time.Now()
	if s.onFirstByte != nil {
		s.onFirstByte()
	}
}

// write passes bytes on, committing the response first, and flushes an
// event stream at once.
func (s *stream) write(p []byte) error {
	if !s.committed {
		s.commit()
	}
	if _, err := s.w.Write(p); err != nil {
		return err
	}
	if s.framer != nil {
		return s.rc.Flush()
	}
	return nil
}

// endWithError ends an event stream broken by the upstream with one error
// event after the last whole event, so the client knows the answer is
// incomplete without a protocol error.
func (s *stream) endWithError(err error) {
	e := apierror.Error{Type: apierror.TypeServer, Code: "stream_interrupted",
		Message: "the upstream failed in the middle of the stream: " + err.Error()}
	_, _ = s.w.Write(s.a.route.streamError(e))
	_ = s.rc.Flush()
}
