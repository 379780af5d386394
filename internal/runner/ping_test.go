package runner

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"custos/internal/llama"
)

// oneChunkPerText is a chunker that sends each piece of text as its own event and nothing at the end.
type oneChunkPerText struct{}

func (oneChunkPerText) text(ev event) any   { return map[string]string{"text": ev.text} }
func (oneChunkPerText) final(*result) []any { return nil }

// oneEventPerText is an eventStreamer that sends each piece of text as its own "text" event.
type oneEventPerText struct{}

func (oneEventPerText) open() []sseEvent { return nil }
func (oneEventPerText) text(text string, _ []llama.Token) []sseEvent {
	return []sseEvent{{name: "text", data: map[string]string{"text": text}}}
}
func (oneEventPerText) close(*result) []sseEvent  { return nil }
func (oneEventPerText) fail(*apiError) []sseEvent { return nil }

// Both kinds of stream, for tests that feed their task by hand.
var handFedStreams = map[string]func(context.Context, http.ResponseWriter, *task){
	"data-only": func(ctx context.Context, w http.ResponseWriter, tk *task) {
		streamTask(ctx, w, tk, oneChunkPerText{}, true)
	},
	"typed": func(ctx context.Context, w http.ResponseWriter, tk *task) {
		streamTypedTask(ctx, w, tk, oneEventPerText{})
	},
}

// silentStream serves one stream of a task the test feeds by hand, with pings every interval, and returns
// the task and the stream's lines as the client reads them.
func silentStream(t *testing.T, every time.Duration, serve func(context.Context, http.ResponseWriter, *task)) (*task, <-chan string) {
	t.Helper()
	tk := &task{events: make(chan event, 4), params: genParams{pingInterval: every}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve(r.Context(), w, tk)
	}))
	t.Cleanup(srv.Close)
	tk.events <- event{text: "a"}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			lines <- line
		}
	}()
	return tk, lines
}

// nextLine waits up to 10 s for the stream's next line of data or comment: empty lines and the event names
// of typed streams are skipped.
func nextLine(t *testing.T, lines <-chan string, what string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended while waiting for %s", what)
			}
			if line != "\n" && !strings.HasPrefix(line, "event: ") {
				return line
			}
		case <-deadline:
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
	}
}

func TestASilentStreamIsPingedUntilItsNextEvent(t *testing.T) {
	for kind, serve := range handFedStreams {
		t.Run(kind, func(t *testing.T) { testPingedUntilNextEvent(t, serve) })
	}
}

func testPingedUntilNextEvent(t *testing.T, serve func(context.Context, http.ResponseWriter, *task)) {
	tk, lines := silentStream(t, 20*time.Millisecond, serve)
	if got := nextLine(t, lines, "the first chunk"); got != "data: {\"text\":\"a\"}\n" {
		t.Fatalf("first line %q", got)
	}
	for i := range 2 {
		if got := nextLine(t, lines, "a ping"); got != ":\n" {
			t.Fatalf("line %d of a silent stream is %q, want the ping \":\"", i, got)
		}
	}
	tk.events <- event{text: "b"}
	for {
		got := nextLine(t, lines, "the second chunk")
		if got == ":\n" {
			continue
		}
		if got != "data: {\"text\":\"b\"}\n" {
			t.Fatalf("after the pings: %q, want the second chunk", got)
		}
		break
	}
	tk.events <- event{final: &result{}}
	for line := range lines {
		if line != ":\n" && line != "\n" && line != "data: [DONE]\n" {
			t.Fatalf("after the final event: %q", line)
		}
	}
}

func TestPingsEndWithTheClient(t *testing.T) {
	tk := &task{events: make(chan event, 1)}
	ctx, leave := context.WithCancel(context.Background())
	rec := httptest.NewRecorder()
	p := newPinger(&sse{w: rec, rc: http.NewResponseController(rec)}, time.Hour)
	done := make(chan bool)
	go func() {
		_, ok := p.next(ctx, tk)
		done <- ok
	}()
	leave()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("a wait for the next event reported an event after its client left")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a wait for the next event went on for 10s after its client left")
	}
}

func TestSSEPingIntervalIsCheckedAsLlamaServerChecksIt(t *testing.T) {
	f := runnerFor(t, false)
	for _, v := range []int{-2, 1 << 31} {
		status, body := f.post(t, "/v1/chat/completions", chatBody("hi", map[string]any{"stream": true, "sse_ping_interval": v}))
		if status != http.StatusBadRequest || !strings.Contains(string(body), "sse_ping_interval") {
			t.Errorf("sse_ping_interval %d: %d %s, want 400 naming the field", v, status, body)
		}
	}
	for _, v := range []int{-1, 0, 5} {
		events, ok := f.streamEvents(t, "/v1/chat/completions", chatBody("hi", map[string]any{"stream": true, "max_tokens": 3, "sse_ping_interval": v}))
		if !ok || len(events) == 0 {
			t.Errorf("sse_ping_interval %d: the stream did not end well (%d events)", v, len(events))
		}
	}
}
