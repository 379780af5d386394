package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
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

func copyHeaders(dst, src http.Header) {
	for k, vv := range src {
		dst[k] = append(dst[k][:0:0], vv...)
	}
	if c := src.Get("Connection"); c != "" {
		for _, f := range strings.Split(c, ",") {
			dst.Del(strings.TrimSpace(f))
		}
	}
	for _, h := range hopHeaders {
		dst.Del(h)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// outcome is how one attempt to forward a request ended.
type outcome int

const (
	// delivered: the response (or an error event) reached the client.
	delivered outcome = iota
	// retryable: the attempt failed before any byte reached the client.
	retryable
	// clientGone: the client went away.
	clientGone
)

// attempt is one forwarding of a request to one upstream.
type attempt struct {
	url    string
	body   []byte
	header http.Header // extra headers for the upstream (fallback auth)
	// responseHeader is set on the client's response before it is committed.
	responseHeader map[string]string
	transport      http.RoundTripper
}

// result says what happened, for the caller's retry decision and metrics.
type result struct {
	outcome outcome
	status  int
	err     error
}

// forward sends one attempt and streams the answer back. Headers reach the
// client only once the first body read has succeeded, so a backend that
// dies right after its headers still counts as "nothing reached the
// client" and the request can be retried.
func forward(ctx context.Context, w http.ResponseWriter, r *http.Request, a attempt, onFirstByte func()) result {
	out, err := http.NewRequestWithContext(ctx, r.Method, a.url, bytes.NewReader(a.body))
	if err != nil {
		return result{outcome: retryable, err: err}
	}
	copyHeaders(out.Header, r.Header)
	for k, vv := range a.header {
		out.Header[k] = vv
	}
	out.ContentLength = int64(len(a.body))
	out.Header.Del("Content-Length")

	resp, err := a.transport.RoundTrip(out)
	if err != nil {
		if ctx.Err() != nil {
			return result{outcome: clientGone, err: ctx.Err()}
		}
		return result{outcome: retryable, err: err}
	}
	defer resp.Body.Close()

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	n, readErr := readSome(resp.Body, buf)
	if n == 0 && readErr != nil && !errors.Is(readErr, io.EOF) {
		if ctx.Err() != nil {
			return result{outcome: clientGone, err: ctx.Err()}
		}
		return result{outcome: retryable, err: readErr}
	}

	h := w.Header()
	copyHeaders(h, resp.Header)
	for k, v := range a.responseHeader {
		h.Set(k, v)
	}
	sse := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	if onFirstByte != nil {
		onFirstByte()
	}
	if n > 0 {
		if _, err := w.Write(buf[:n]); err != nil {
			return result{outcome: clientGone, status: resp.StatusCode, err: err}
		}
	}
	if sse {
		_ = rc.Flush()
	}
	for readErr == nil {
		n, readErr = resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return result{outcome: clientGone, status: resp.StatusCode, err: err}
			}
			if sse {
				if err := rc.Flush(); err != nil {
					return result{outcome: clientGone, status: resp.StatusCode, err: err}
				}
			}
		}
	}
	if errors.Is(readErr, io.EOF) {
		return result{outcome: delivered, status: resp.StatusCode}
	}
	if ctx.Err() != nil {
		return result{outcome: clientGone, status: resp.StatusCode, err: ctx.Err()}
	}
	// The upstream broke after bytes reached the client.
	if sse {
		// End the stream with an error event and a clean close, so the
		// client knows it is incomplete without a protocol error.
		_, _ = w.Write([]byte("\n\ndata: {\"error\":{\"message\":\"the backend failed in the middle of the stream: " +
			jsonEscape(readErr.Error()) + "\",\"type\":\"server_error\",\"code\":\"stream_interrupted\"}}\n\n"))
		_ = rc.Flush()
		return result{outcome: delivered, status: resp.StatusCode, err: readErr}
	}
	// A plain response cut short must not look complete: abort the
	// connection so the client sees the truncation.
	panic(http.ErrAbortHandler)
}

// readSome reads once, retrying the rare empty read a Reader may return,
// so the first bytes are passed on as soon as they arrive.
func readSome(r io.Reader, buf []byte) (int, error) {
	for {
		n, err := r.Read(buf)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func jsonEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
