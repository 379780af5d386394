package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/config"
	"custos/internal/supervisor"
)

// countConns counts the connections a test backend accepts.
func countConns(srv *httptest.Server) *atomic.Int32 {
	var n atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

func TestBackendConnectionsAreReused(t *testing.T) {
	be := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	conns := countConns(be)
	be.Start()
	defer be.Close()
	f := newFixture(t, http.NotFoundHandler(), nil)
	f.upstream.set(func(s *supervisor.Snapshot) { s.URL = be.URL })
	for i := range 20 {
		if a := f.post("/v1/chat/completions", chatBody); a.status != 200 {
			t.Fatalf("request %d: %d %s %v", i, a.status, a.body, a.err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("20 sequential requests opened %d backend connections, want 1", n)
	}
}

// A backend closes keep-alive connections it finds idle (llama-server
// after 5 s). The next request on such a connection must be sent again on
// a new one, and not count as a backend failure.
func TestStaleKeepAliveConnectionIsRetriedNotReported(t *testing.T) {
	be := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	be.Config.IdleTimeout = 20 * time.Millisecond
	conns := countConns(be)
	be.Start()
	defer be.Close()
	f := newFixture(t, http.NotFoundHandler(), nil)
	f.upstream.set(func(s *supervisor.Snapshot) { s.URL = be.URL })
	for i := range 3 {
		if a := f.post("/v1/chat/completions", chatBody); a.status != 200 {
			t.Fatalf("request %d: %d %s %v", i, a.status, a.body, a.err)
		}
		time.Sleep(100 * time.Millisecond) // the backend closes the idle connection
	}
	if n := f.upstream.failures.Load(); n != 0 {
		t.Fatalf("%d failures reported for connections the backend closed while idle", n)
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d backend connections, want 3 (one per request, each after the last was closed)", n)
	}
}

func TestClientLeavingBeforeTheBackendAnswersCancelsIt(t *testing.T) {
	arrived, backendSawCancel := make(chan struct{}), make(chan struct{})
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // as a real backend does, which lets net/http watch the connection
		close(arrived)
		select {
		case <-r.Context().Done():
			close(backendSawCancel)
		case <-time.After(10 * time.Second):
		}
	}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", f.server.URL+"/v1/chat/completions", strings.NewReader(chatBody))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-arrived
	cancel()
	<-done
	select {
	case <-backendSawCancel:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend request was not cancelled when the client left")
	}
	waitFor(t, "the slot to be released", func() bool { return f.gw.Load("tiny").InFlight == 0 })
	if n := f.upstream.failures.Load(); n != 0 {
		t.Fatalf("a client leaving was reported as %d backend failures", n)
	}
}

// A response that ends when the backend closes the connection (no length,
// not chunked) is passed on whole, and its connection is not reused.
func TestResponseEndingAtCloseIsNotReused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"until\":\"close\"}")
			}()
		}
	}()
	f := newFixture(t, http.NotFoundHandler(), func(*config.Config) {})
	f.upstream.set(func(s *supervisor.Snapshot) { s.URL = "http://" + ln.Addr().String() })
	for i := range 2 {
		a := f.post("/v1/chat/completions", chatBody)
		if a.status != 200 || a.body != `{"until":"close"}` {
			t.Fatalf("request %d: %d %q %v", i, a.status, a.body, a.err)
		}
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("%d connections for 2 requests, want 2", n)
	}
	if n := f.upstream.failures.Load(); n != 0 {
		t.Fatalf("%d failures reported", n)
	}
}
