package httpserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"custos/internal/apierror"
)

// BodyDeadline gives every request body readTimeout to arrive after its
// headers: the connection's read deadline is set when the request reaches
// the handler and lifted when its body has been read to the end, so a
// client that declares a large body and trickles it is cut off, and a long
// streamed answer afterwards is not (http.Server's own ReadTimeout would
// stay on the connection and cancel the request's context in the middle
// of the answer).
func BodyDeadline(readTimeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(readTimeout)); err != nil {
			next.ServeHTTP(w, r) // not a connection with deadlines (a test recorder)
			return
		}
		r.Body = &deadlineBody{body: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }, timeout: readTimeout}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the connection's read deadline once the body has
// been read to its end. A body closed before that, or one that timed out,
// keeps it: what
// is left of it on the connection must not be waited for again (net/http
// reads a small remainder before it answers, to keep the connection), so
// the answer goes out at once and the connection closes after it.
type deadlineBody struct {
	body    io.ReadCloser
	lift    func()
	once    sync.Once
	timeout time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		b.done()
	case errors.As(err, &ne) && ne.Timeout():
		err = &SlowBodyError{Timeout: b.timeout}
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.body.Close() }

func (b *deadlineBody) done() { b.once.Do(b.lift) }

// SlowBodyError is a body that did not arrive within read_timeout.
type SlowBodyError struct{ Timeout time.Duration }

func (e *SlowBodyError) Error() string {
	return fmt.Sprintf("the request body did not arrive within %v (read_timeout)", e.Timeout)
}

// ErrBodyTooLarge is a body longer than the limit it was read with.
var ErrBodyTooLarge = errors.New("request body too large")

// initialBodyBuffer is the most ReadBody reserves before bytes arrive.
// Content-Length is only a client's claim: reserving it would let a
// client that declares 8 MiB and sends nothing hold 8 MiB.
const initialBodyBuffer = 16 << 10

// ReadBody reads the request body, at most limit bytes; more is
// ErrBodyTooLarge. Its memory grows with the bytes that arrive, never
// with what the client declared.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	size := initialBodyBuffer
	if r.ContentLength >= 0 && r.ContentLength < int64(size) {
		size = int(r.ContentLength) + 1 // room for the read that sees the end
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, ErrBodyTooLarge
	}
	return buf.Bytes(), nil
}

// BodyError is the answer to a body ReadBody could not read.
func BodyError(err error, limit int64, limitName string) apierror.Error {
	var slow *SlowBodyError
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return apierror.Error{Status: http.StatusRequestEntityTooLarge, Type: apierror.TypeInvalidRequest, Code: "body_too_large",
			Message: fmt.Sprintf("the request body is larger than %d bytes (%s)", limit, limitName)}
	case errors.As(err, &slow):
		return apierror.Error{Status: http.StatusRequestTimeout, Type: apierror.TypeInvalidRequest, Code: "body_timeout", Message: slow.Error()}
	}
	return apierror.BadRequest("invalid_body", "reading the request body: "+err.Error())
}
