package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"custos/internal/supervisor"
)

func TestAStreamCountsItsContentEventsOrTheUsageItStates(t *testing.T) {
	chat := "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"lo \\\"x\\\":\\\"y\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\\\"a\"}}]}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: [DONE]\n\n"
	c := newTokenCounter()
	c.sseEvents([]byte(chat))
	if got := c.tokens(); got != 3 {
		t.Fatalf("chat stream without usage: got %d tokens, want 3 content events", got)
	}
	c.sseEvents([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":17,\"total_tokens\":26}}\n\n"))
	if got := c.tokens(); got != 17 {
		t.Fatalf("chat stream with usage: got %d, want its completion_tokens 17", got)
	}

	anthropic := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":4}}\n\n"
	c = newTokenCounter()
	c.sseEvents([]byte(anthropic))
	if got := c.tokens(); got != 4 {
		t.Fatalf("anthropic stream: got %d, want the last output_tokens 4", got)
	}
}

// A JSON answer's usage is found even when a read cuts it in two.
func TestAJSONAnswerStatesItsTokensAcrossReads(t *testing.T) {
	body := `{"choices":[{"message":{"content":"hello"}}],"usage":{"prompt_tokens":3,"completion_tokens":1234,"total_tokens":1237}}`
	for cut := 1; cut < len(body); cut++ {
		c := newTokenCounter()
		c.jsonBody([]byte(body[:cut]))
		c.jsonBody([]byte(body[cut:]))
		if got := c.tokens(); got != 1234 {
			t.Fatalf("cut at %d (%q | %q): got %d, want 1234", cut, body[:cut], body[cut:], got)
		}
	}
	c := newTokenCounter()
	c.jsonBody([]byte(`{"data":[{"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":3,"total_tokens":3}}`))
	if got := c.tokens(); got != 0 {
		t.Fatalf("embeddings: got %d completion tokens, want 0", got)
	}
}

func TestCountingTokensAllocatesNothing(t *testing.T) {
	event := []byte("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}],\"usage\":{\"completion_tokens\":2}}\n\n")
	c := newTokenCounter()
	if n := testing.AllocsPerRun(1000, func() { c.sseEvents(event); c.jsonBody(event) }); n != 0 {
		t.Fatalf("counting allocates %v times per read", n)
	}
}

// The live figures hear of every routed request with what the client got:
// its status, time to first byte and completion tokens.
func TestLiveFiguresHearEachRequest(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"stream":true`) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"hello"}}],"usage":{"completion_tokens":5}}`)
	}), nil)
	start := time.Now().Unix()
	if a := f.post("/v1/chat/completions", chatBody); a.status != 200 {
		t.Fatalf("json: %d %s", a.status, a.body)
	}
	if a := f.post("/v1/chat/completions", `{"model":"tiny","stream":true,"messages":[]}`); a.status != 200 {
		t.Fatalf("stream: %d %s", a.status, a.body)
	}
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy; s.LastExit = "killed" })
	if a := f.post("/v1/chat/completions", chatBody); a.status != 503 {
		t.Fatalf("unhealthy: %d %s", a.status, a.body)
	}
	end := time.Now().Unix()
	waitFor(t, "the seconds of the requests to end", func() bool { return time.Now().Unix() > end })
	var requests, errors int
	var tokens float64
	ttfb := false
	for _, p := range f.live.History(end).Points {
		if p.T < start {
			continue
		}
		m := p.Models["tiny"]
		requests, errors, tokens = requests+m.Requests, errors+m.Errors, tokens+m.TokensPerSecond
		ttfb = ttfb || m.TTFBMillis != nil
	}
	if requests != 3 || errors != 1 || tokens != 7 || !ttfb {
		t.Fatalf("got %d requests, %d errors, %v tokens, a ttfb: %v; want 3, 1, 7 (5 stated + 2 events), true", requests, errors, tokens, ttfb)
	}
}

// BenchmarkTokenCount is the counting's share of passing one chat stream
// event (llama-server's shape) and one chat answer to the client.
func BenchmarkTokenCount(b *testing.B) {
	event := []byte(`data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":" Paris"}}],"created":1764640000,"id":"chatcmpl-abc","model":"tiny","system_fingerprint":"b1-x","object":"chat.completion.chunk"}` + "\n\n")
	answer := []byte(`{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"The capital of France is Paris."}}],"created":1764640000,"model":"tiny","object":"chat.completion","usage":{"completion_tokens":8,"prompt_tokens":40,"total_tokens":48},"id":"chatcmpl-abc"}`)
	b.Run("event", func(b *testing.B) {
		c := newTokenCounter()
		b.SetBytes(int64(len(event)))
		b.ReportAllocs()
		for b.Loop() {
			c.sseEvents(event)
		}
	})
	b.Run("answer", func(b *testing.B) {
		b.SetBytes(int64(len(answer)))
		b.ReportAllocs()
		for b.Loop() {
			c := newTokenCounter()
			c.jsonBody(answer)
		}
	})
}
