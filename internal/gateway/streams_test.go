package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// steppedStream is a backend streaming one chunk per value sent on next, then [DONE] when next closes. It
// reports the conversation header it saw and closes backendGone if its request ends early.
type steppedStream struct {
	next        chan int
	sawHeader   chan string
	backendGone chan struct{}
}

func newSteppedStream() *steppedStream {
	return &steppedStream{next: make(chan int), sawHeader: make(chan string, 4), backendGone: make(chan struct{})}
}

func (s *steppedStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.sawHeader <- r.Header.Get("X-Conversation-Id")
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for {
		select {
		case i, ok := <-s.next:
			if !ok {
				fmt.Fprint(w, "data: [DONE]\n\n")
				return
			}
			fmt.Fprintf(w, "data: {\"chunk\":%d}\n\n", i)
			_ = rc.Flush()
		case <-r.Context().Done():
			close(s.backendGone)
			return
		}
	}
}

func (s *steppedStream) send(t *testing.T, i int) {
	t.Helper()
	select {
	case s.next <- i:
	case <-s.backendGone:
		t.Fatalf("chunk %d: the backend's request ended: the gateway gave up the stream", i)
	case <-time.After(5 * time.Second):
		t.Fatalf("chunk %d: the backend did not take it within 5s", i)
	}
}

// seeingClients serves h, sending each request's own context (which ends when its client leaves) on ctxs.
func seeingClients(t *testing.T, h http.Handler, ctxs chan<- context.Context) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("X-Conversation-Id") != "" {
			ctxs <- r.Context()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// openStream sends a resumable streamed chat request in the background and hands over its response: the
// gateway answers only once the backend's first event has come, which the test sends after this returns.
func openStream(t *testing.T, ctx context.Context, base, conv string) <-chan *http.Response {
	t.Helper()
	responses := make(chan *http.Response, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(`{"model":"tiny","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Conversation-Id", conv)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("the streamed request: %v", err)
			return
		}
		responses <- resp
	}()
	return responses
}

func TestAResumableStreamOutlivesItsClientThroughTheGateway(t *testing.T) {
	backend := newSteppedStream()
	f := newFixture(t, backend, nil)
	clients := make(chan context.Context, 1)
	srv := seeingClients(t, f.gw.Handler(), clients)
	ctx, leave := context.WithTimeout(context.Background(), time.Minute)
	responses := openStream(t, ctx, srv.URL, "conv-gw")
	if h := receive(t, backend.sawHeader, "the backend's request"); h != "" {
		t.Errorf("the backend saw X-Conversation-Id %q: it would keep a second copy of the stream", h)
	}
	backend.send(t, 0)
	resp := receive(t, responses, "the gateway's answer")
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || line != "data: {\"chunk\":0}\n" {
		t.Fatalf("first chunk %q %v", line, err)
	}
	leave()
	resp.Body.Close()
	select {
	case <-receive(t, clients, "the client's request").Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the gateway did not see its client leave within 5s")
	}
	backend.send(t, 1)
	backend.send(t, 2)
	close(backend.next)
	waitFor(t, "the stream to end", func() bool { return f.gw.Load("tiny").InFlight == 0 })
	a := f.get("/v1/stream?conv_id=conv-gw")
	if want := "data: {\"chunk\":0}\n\ndata: {\"chunk\":1}\n\ndata: {\"chunk\":2}\n\ndata: [DONE]\n\n"; a.status != http.StatusOK || a.body != want {
		t.Fatalf("replay through the gateway: %d %q, want 200 %q", a.status, a.body, want)
	}
}

func TestStoppingAResumableStreamEndsTheBackendsRequest(t *testing.T) {
	backend := newSteppedStream()
	f := newFixture(t, backend, nil)
	responses := openStream(t, context.Background(), f.server.URL, "conv-stop")
	receive(t, backend.sawHeader, "the backend's request")
	backend.send(t, 0)
	resp := receive(t, responses, "the gateway's answer")
	defer resp.Body.Close()
	stop, _ := http.NewRequest(http.MethodDelete, f.server.URL+"/v1/stream?conv_id=conv-stop", nil)
	sresp, err := http.DefaultClient.Do(stop)
	if err != nil {
		t.Fatal(err)
	}
	sresp.Body.Close()
	if sresp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE answered %d, want 204", sresp.StatusCode)
	}
	select {
	case <-backend.backendGone:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend's request went on after the stream was stopped")
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if a := f.get("/v1/stream?conv_id=conv-stop"); a.status != http.StatusNotFound || !strings.Contains(a.body, "stream_not_found") {
		t.Fatalf("a stopped stream: %d %s, want 404 stream_not_found", a.status, a.body)
	}
}

func TestStreamRoutesRefuseBadRequestsInCustosShape(t *testing.T) {
	f := newFixture(t, newSteppedStream(), nil)
	for _, c := range []struct{ path, code string }{
		{"/v1/stream", "missing_conversation_id"},
		{"/v1/stream?conv_id=nobody", "stream_not_found"},
	} {
		a := f.get(c.path)
		if !strings.Contains(a.body, `"code":"`+c.code+`"`) || !strings.Contains(a.body, `"type":"invalid_request_error"`) {
			t.Errorf("GET %s: %d %s, want the code %s", c.path, a.status, a.body, c.code)
		}
	}
	if a := f.post("/v1/streams/lookup", `{"conversation_ids":`); a.status != http.StatusBadRequest || !strings.Contains(a.body, `"invalid_body"`) {
		t.Errorf("a broken lookup: %d %s", a.status, a.body)
	}
	if a := f.post("/v1/streams/lookup", `{"conversation_ids":["nobody"]}`); a.status != http.StatusOK || strings.TrimSpace(a.body) != "[]" {
		t.Errorf("a lookup of nobody: %d %s, want []", a.status, a.body)
	}
}
