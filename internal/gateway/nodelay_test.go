package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/supervisor"
)

// noNoDelayBackend is the backend of issue 9 (Python's http.server is
// one): TCP_NODELAY off on every connection and each answer's head and
// body written apart, so the body leaves only once the head is
// acknowledged. It counts the connections it accepts.
func noNoDelayBackend(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	const body = `{"object":"chat.completion","choices":[{"message":{"content":"hello"}}]}`
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, body)
	}))
	be.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if err := c.(*net.TCPConn).SetNoDelay(false); err != nil {
			t.Errorf("clearing TCP_NODELAY: %v", err)
		}
		return ctx
	}
	conns := countConns(be)
	be.Start()
	t.Cleanup(be.Close)
	return be, conns
}

// Requests proxied to a backend without TCP_NODELAY must not each wait for
// the gateway's delayed ACK of the answer's head (issue 9). The check is a
// count, not a tight threshold: a held exchange is a kernel timer of 40 ms
// or more, and without the fix every request after the first is held.
func TestRequestsToBackendWithoutNoDelayAreNotHeldByDelayedACKs(t *testing.T) {
	const n, stall = 20, 35 * time.Millisecond
	be, conns := noNoDelayBackend(t)
	f := newFixture(t, http.NotFoundHandler(), nil)
	f.upstream.set(func(s *supervisor.Snapshot) { s.URL = be.URL })
	client := &http.Client{Timeout: 10 * time.Second}
	held, took := 0, make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		resp, err := client.Post(f.server.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s %v", i, resp.StatusCode, b, err)
		}
		d := time.Since(start)
		took = append(took, d)
		if d >= stall {
			held++
		}
	}
	if c := conns.Load(); c != 1 {
		t.Fatalf("%d sequential requests opened %d backend connections, want 1", n, c)
	}
	if held >= n/2 {
		t.Fatalf("%d of %d requests took ≥ %v, as if each waited for a delayed ACK: %v", held, n, stall, took)
	}
}
