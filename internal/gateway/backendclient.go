package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"custos/internal/quickack"
)

// backendClient is the HTTP/1.1 client for supervised backends (plain
// HTTP, usually over loopback). Each request runs entirely on the
// caller's goroutine: it writes on a pooled connection and reads the
// answer from it, with none of the reader and writer goroutines
// http.Transport keeps per connection. Handing every request and
// response between goroutines costs thread wake-ups, which on small
// machines were most of what the gateway added to a request's latency
// (docs/BENCHMARKS.md). Its connections acknowledge at once (package
// quickack), so a backend without TCP_NODELAY does not hold each answer
// for a delayed ACK. The fallback, remote and maybe TLS, keeps
// http.Transport.
type backendClient struct {
	dialer      quickack.Dialer
	maxIdle     int           // idle connections kept per backend address
	idleTimeout time.Duration // an idle connection older than this is closed, not reused

	mu        sync.Mutex
	idle      map[string][]*backendConn // by host:port, most recently used last
	lastSweep time.Time
}

func newBackendClient(maxIdlePerHost int) *backendClient {
	return &backendClient{
		dialer:      quickack.Dialer{Dialer: net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}},
		maxIdle:     max(maxIdlePerHost, 64),
		idleTimeout: 90 * time.Second,
		idle:        map[string][]*backendConn{},
	}
}

// backendConn is one connection with its buffers.
type backendConn struct {
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
}

// RoundTrip sends req and returns the response, whose body reads straight
// from the connection. Closing the body after reading it to the end puts
// the connection back in the pool; closing it earlier closes the
// connection. A reused connection the backend has closed meanwhile (its
// keep-alive timeout) is detected by the failed exchange and the request
// sent once more on a new connection: the backend never saw it.
func (c *backendClient) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return nil, errors.New("backend client: only http:// backends are supported, got " + req.URL.Scheme)
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr += ":80"
	}
	body, err := requestBody(req)
	if err != nil {
		return nil, err
	}
	for {
		bc, reused, err := c.get(req.Context(), addr)
		if err != nil {
			return nil, err
		}
		resp, err := c.exchange(req, bc, body)
		if err == nil {
			return resp, nil
		}
		if reused && req.Context().Err() == nil && isStale(err) {
			continue
		}
		return nil, err
	}
}

// exchange writes the request on bc and reads the response head.
func (c *backendClient) exchange(req *http.Request, bc *backendConn, body []byte) (*http.Response, error) {
	ctx := req.Context()
	// A request whose client goes away must not stay blocked on the
	// backend: expire the connection's deadline, which fails its I/O.
	stop := context.AfterFunc(ctx, func() { _ = bc.nc.SetDeadline(time.Unix(1, 0)) })
	writeRequest(bc.bw, req, body)
	if err := bc.bw.Flush(); err != nil {
		stop()
		bc.nc.Close()
		return nil, &noResponseError{err: contextError(ctx, err)}
	}
	// Wait for the first byte apart, so that a connection the backend had
	// closed (nothing comes back) is told from a response cut short.
	if _, err := bc.br.Peek(1); err != nil {
		stop()
		bc.nc.Close()
		return nil, &noResponseError{err: contextError(ctx, err)}
	}
	resp, err := readFinalResponse(bc.br, req)
	if err != nil {
		stop()
		bc.nc.Close()
		return nil, contextError(ctx, err)
	}
	resp.Body = &pooledBody{body: resp.Body, conn: bc, client: c, addr: req.URL.Host, reusable: !resp.Close, stop: stop}
	return resp, nil
}

// readFinalResponse reads the response head, skipping interim 1xx
// responses (a backend may answer 100 Continue though none was asked for).
func readFinalResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, err
		}
	}
}

// get returns an idle connection to addr, or a new one.
func (c *backendClient) get(ctx context.Context, addr string) (*backendConn, bool, error) {
	now := time.Now()
	c.mu.Lock()
	for conns := c.idle[addr]; len(conns) > 0; conns = c.idle[addr] {
		bc := conns[len(conns)-1]
		c.idle[addr] = conns[:len(conns)-1]
		if now.Sub(bc.lastUsed) < c.idleTimeout {
			c.mu.Unlock()
			return bc, true, nil
		}
		bc.nc.Close()
	}
	c.mu.Unlock()
	nc, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &backendConn{nc: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 16<<10)}, false, nil
}

// put returns a connection whose last response was read to the end.
func (c *backendClient) put(addr string, bc *backendConn) {
	if bc.br.Buffered() > 0 {
		// The backend sent more than its response: the connection is out of step.
		bc.nc.Close()
		return
	}
	bc.lastUsed = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if bc.lastUsed.Sub(c.lastSweep) > c.idleTimeout {
		c.sweep(bc.lastUsed)
	}
	if len(c.idle[addr]) >= c.maxIdle {
		bc.nc.Close()
		return
	}
	c.idle[addr] = append(c.idle[addr], bc)
}

// sweep closes connections idle too long, such as those to the old port
// of a restarted backend, which nobody asks for again. Callers hold mu.
func (c *backendClient) sweep(now time.Time) {
	c.lastSweep = now
	for addr, conns := range c.idle {
		kept := conns[:0]
		for _, bc := range conns {
			if now.Sub(bc.lastUsed) < c.idleTimeout {
				kept = append(kept, bc)
			} else {
				bc.nc.Close()
			}
		}
		if len(kept) == 0 {
			delete(c.idle, addr)
		} else {
			c.idle[addr] = kept
		}
	}
}

// CloseIdleConnections closes every pooled connection.
func (c *backendClient) CloseIdleConnections() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, conns := range c.idle {
		for _, bc := range conns {
			bc.nc.Close()
		}
		delete(c.idle, addr)
	}
}

// pooledBody is a response body that hands its connection back to the
// pool once read to the end.
type pooledBody struct {
	body     io.ReadCloser
	conn     *backendConn
	client   *backendClient
	addr     string
	reusable bool
	stop     func() bool
	eof      bool
	closed   bool
}

func (b *pooledBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *pooledBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	// The deadline watch must be gone before the connection is reused;
	// if it already fired, the connection's deadline is spent.
	watching := b.stop()
	if b.eof && b.reusable && watching {
		b.client.put(b.addr, b.conn)
		return nil
	}
	return b.conn.nc.Close()
}

// requestBody returns the request's body bytes (the gateway sends bodies
// it has already read, so this is one read of a bytes.Reader).
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// writeRequest writes an HTTP/1.1 request head and body into w.
func writeRequest(w *bufio.Writer, req *http.Request, body []byte) {
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(req.URL.Host)
	w.WriteString("\r\n")
	for k, vv := range req.Header {
		if k == "Host" || k == "Content-Length" || k == "Connection" || k == "Expect" {
			continue
		}
		for _, v := range vv {
			if strings.ContainsAny(v, "\r\n") {
				continue
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if body != nil || req.Method == http.MethodPost || req.Method == http.MethodPut {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
}

// noResponseError is an exchange that failed before any byte of a
// response arrived.
type noResponseError struct{ err error }

func (e *noResponseError) Error() string { return e.err.Error() }
func (e *noResponseError) Unwrap() error { return e.err }

// isStale reports whether an exchange on a reused connection failed the
// way a connection the peer had already closed fails: the write is
// refused, or the connection ends or is reset before any byte of a response.
func isStale(err error) bool {
	var nr *noResponseError
	return errors.As(err, &nr) &&
		(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

// contextError prefers the context's error: a failure caused by the
// client leaving is not the backend's.
func contextError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
