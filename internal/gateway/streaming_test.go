package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/config"
	"custos/internal/supervisor"
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

// An upstream that breaks inside an event: the client gets the whole
// events before it and then one well-formed error event, never the half
// event, and the metrics count the 200 it got as an interrupted response.
func TestStreamBrokenInsideAnEventEndsWithOneWholeErrorEvent(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		fmt.Fprint(w, "data: {\"chunk\":0}\n\n")
		_ = rc.Flush()
		fmt.Fprint(w, "data: {\"chunk\":1,\"half")
		_ = rc.Flush()
		hangUp(w)
	}), nil)
	a := f.post("/v1/chat/completions", `{"model":"tiny","stream":true}`)
	if a.err != nil || a.status != 200 {
		t.Fatalf("got %d %v", a.status, a.err)
	}
	events := strings.Split(strings.TrimSuffix(a.body, "\n\n"), "\n\n")
	if len(events) != 2 || events[0] != `data: {"chunk":0}` || !strings.HasPrefix(events[1], "data: {\"error\":") {
		t.Fatalf("want the whole event then one error event, got %q", a.body)
	}
	var e struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(events[1], "data: ")), &e); err != nil || e.Error.Code != "stream_interrupted" {
		t.Fatalf("the error event is not well formed: %q (%v)", events[1], err)
	}
	m := f.scrape(t)
	if !strings.Contains(m, `custos_requests_total{code="200",model="tiny",route="chat"} 1`) ||
		!strings.Contains(m, `custos_responses_interrupted_total{model="tiny",route="chat"} 1`) {
		t.Fatalf("metrics do not count what the client got:\n%s", grepLines(m, "custos_re"))
	}
}

// A stream that breaks before its first whole event has sent the client
// nothing: it is retried like any failure before the first byte.
func TestStreamBrokenBeforeItsFirstEventIsRetried(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if calls.Add(1) == 1 {
			fmt.Fprint(w, "data: {\"chu")
			_ = http.NewResponseController(w).Flush()
			hangUp(w)
			return
		}
		fmt.Fprint(w, "data: {\"chunk\":0}\n\ndata: [DONE]\n\n")
	}), nil)
	a := f.post("/v1/chat/completions", `{"model":"tiny","stream":true}`)
	if a.status != 200 || a.body != "data: {\"chunk\":0}\n\ndata: [DONE]\n\n" || calls.Load() != 2 {
		t.Fatalf("got %d %q after %d calls", a.status, a.body, calls.Load())
	}
}

// The fallback timing out after its first byte reached the client: an
// event stream ends with one error event (no JSON appended to it), a
// plain body is cut by closing the connection, and neither is counted as
// the 504 the client never got.
func TestFallbackTimeoutAfterTheFirstByte(t *testing.T) {
	for _, sse := range []bool{true, false} {
		t.Run(map[bool]string{true: "stream", false: "plain"}[sse], func(t *testing.T) {
			stop := make(chan struct{})
			defer close(stop)
			fb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if sse {
					w.Header().Set("Content-Type", "text/event-stream")
					fmt.Fprint(w, "data: {\"chunk\":0}\n\n")
				} else {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"partial":`)
				}
				_ = http.NewResponseController(w).Flush()
				select {
				case <-stop:
				case <-r.Context().Done():
				}
			}))
			defer fb.Close()
			f := newFixture(t, http.HandlerFunc(ok), func(c *config.Config) {
				withFallback(fb.URL)(c)
				c.Fallback.Timeout = 200 * time.Millisecond
			})
			f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
			a := f.post("/v1/chat/completions", `{"model":"tiny","stream":true}`)
			if sse {
				if a.err != nil || a.status != 200 || !strings.HasPrefix(a.body, "data: {\"chunk\":0}\n\ndata: {\"error\":") ||
					strings.Count(a.body, "data: ") != 2 || !strings.HasSuffix(a.body, "}\n\n") {
					t.Fatalf("got %d %q %v", a.status, a.body, a.err)
				}
			} else if a.err == nil {
				t.Fatalf("a cut plain body read as complete: %d %q", a.status, a.body)
			}
			waitFor(t, "the request to be counted", func() bool {
				return strings.Contains(f.scrape(t), `custos_responses_interrupted_total{model="tiny",route="chat"} 1`)
			})
			m := f.scrape(t)
			if strings.Contains(m, `code="504"`) || !strings.Contains(m, `custos_requests_total{code="200",model="tiny",route="chat"} 1`) {
				t.Fatalf("metrics:\n%s", grepLines(m, "custos_re"))
			}
		})
	}
}

// grepLines is the lines of s that start with prefix.
func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// brokenAfterFirstEvent sends the route's first event, then half of the
// next, then dies.
func brokenAfterFirstEvent(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		events := llamaLikeEvents(path, `"`+backendPath+`"`)
		rc := http.NewResponseController(w)
		fmt.Fprint(w, events[0])
		_ = rc.Flush()
		fmt.Fprint(w, events[1][:len(events[1])/2])
		_ = rc.Flush()
		hangUp(w)
	}
}

// An Anthropic stream the backend breaks ends with the whole events before
// the break and one "event: error" in Anthropic's shape, which is what
// Anthropic's clients parse.
func TestMessagesStreamBrokenEndsWithAnAnthropicErrorEvent(t *testing.T) {
	f := newFixture(t, brokenAfterFirstEvent("/v1/messages"), nil)
	a := f.post("/v1/messages", `{"model":"tiny","stream":true,"messages":[]}`)
	events := strings.Split(strings.TrimSuffix(a.body, "\n\n"), "\n\n")
	if a.err != nil || a.status != 200 || len(events) != 2 || !strings.HasPrefix(events[0], "event: message_start\ndata: ") ||
		!strings.Contains(events[0], `"model":"tiny"`) || !strings.HasPrefix(events[1], "event: error\ndata: ") {
		t.Fatalf("got %d %v:\n%q", a.status, a.err, a.body)
	}
	var e struct {
		Type  string `json:"type"`
		Error struct{ Type, Message, Code string }
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(events[1], "event: error\ndata: ")), &e); err != nil ||
		e.Type != "error" || e.Error.Type != "api_error" || e.Error.Code != "stream_interrupted" || e.Error.Message == "" {
		t.Fatalf("the error event is not Anthropic's: %q (%v)", events[1], err)
	}
}

// A Responses stream the backend breaks ends with one "event: error" whose
// data is the Responses API's error event, with OpenAI's envelope in it.
func TestResponsesStreamBrokenEndsWithAnErrorEvent(t *testing.T) {
	f := newFixture(t, brokenAfterFirstEvent("/v1/responses"), nil)
	a := f.post("/v1/responses", `{"model":"tiny","stream":true,"input":"hi"}`)
	events := strings.Split(strings.TrimSuffix(a.body, "\n\n"), "\n\n")
	if a.err != nil || a.status != 200 || len(events) != 2 || !strings.HasPrefix(events[0], "event: response.created\n") ||
		!strings.HasPrefix(events[1], "event: error\ndata: ") {
		t.Fatalf("got %d %v:\n%q", a.status, a.err, a.body)
	}
	var e struct {
		Type, Code, Message string
		Error               struct{ Type, Message, Code string }
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(events[1], "event: error\ndata: ")), &e); err != nil ||
		e.Type != "error" || e.Code != "stream_interrupted" || e.Message == "" || e.Error.Code != "stream_interrupted" || e.Error.Type != "server_error" {
		t.Fatalf("the error event is not the Responses API's: %q (%v)", events[1], err)
	}
}
