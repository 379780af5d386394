package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func sseChunks(n int, interval time.Duration, breakAfter int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range n {
			if i == breakAfter {
				hangUp(w)
				return
			}
			fmt.Fprintf(w, "data: {\"chunk\":%d}\n\n", i)
			_ = rc.Flush()
			time.Sleep(interval)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

func TestEveryChunkIsFlushedAtOnce(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"chunk\":0}\n\n")
		_ = http.NewResponseController(w).Flush()
		<-release // the second chunk waits until the client has the first
		fmt.Fprint(w, "data: [DONE]\n\n")
	}), nil)
	resp, err := http.Post(f.server.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"tiny","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	close(release)
	if err != nil || line != "data: {\"chunk\":0}\n" {
		t.Fatalf("the first chunk was held back: %q %v", line, err)
	}
}

func TestStreamBrokenMidwayEndsWithErrorEvent(t *testing.T) {
	f := newFixture(t, sseChunks(10, 0, 3), nil)
	a := f.post("/v1/chat/completions", `{"model":"tiny","stream":true}`)
	if a.err != nil {
		t.Fatalf("the stream must close cleanly: %v", a.err)
	}
	if a.status != 200 || !strings.Contains(a.body, `"chunk":2`) || !strings.Contains(a.body, `"stream_interrupted"`) || strings.Contains(a.body, "[DONE]") {
		t.Fatalf("got %d:\n%s", a.status, a.body)
	}
}

func TestTruncatedPlainResponseAbortsTheConnection(t *testing.T) {
	// Chunked, with no Content-Length: only an aborted connection tells
	// the client that the body is incomplete.
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"partial":`))
		_ = http.NewResponseController(w).Flush()
		hangUp(w)
	}), nil)
	resp, err := http.Post(f.server.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
	if err != nil {
		return // aborted before the headers: also not mistaken for complete
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("a truncated response must not read as complete")
	}
}

func TestClientDisconnectCancelsTheUpstreamRequest(t *testing.T) {
	upstreamGone := make(chan struct{})
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for {
			if _, err := fmt.Fprint(w, "data: {}\n\n"); err != nil {
				break
			}
			if rc.Flush() != nil {
				break
			}
			select {
			case <-r.Context().Done():
				close(upstreamGone)
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		close(upstreamGone)
	}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", f.server.URL+"/v1/chat/completions", strings.NewReader(`{"model":"tiny","stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = bufio.NewReader(resp.Body).ReadString('\n')
	cancel()
	resp.Body.Close()
	select {
	case <-upstreamGone:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not cancelled when the client left")
	}
	waitFor(t, "the slot to be released", func() bool { return f.gw.Load("tiny").InFlight == 0 })
}
