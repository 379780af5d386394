package runner

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// anthropicMessageReply is the part of an Anthropic message the tests read.
type anthropicMessageReply struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Role    string `json:"role"`
	Model   string `json:"model"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        struct {
		InputTokens          int `json:"input_tokens"`
		CacheReadInputTokens int `json:"cache_read_input_tokens"`
		OutputTokens         int `json:"output_tokens"`
	} `json:"usage"`
}

func (m anthropicMessageReply) text(t *testing.T) string {
	t.Helper()
	if len(m.Content) != 1 || m.Content[0].Type != "text" {
		t.Fatalf("content is not one text block: %+v", m.Content)
	}
	return m.Content[0].Text
}

func messagesBody(content any, extra map[string]any) map[string]any {
	b := map[string]any{"model": "tiny", "messages": []any{map[string]any{"role": "user", "content": content}}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func TestMessagesWholeAnswerShapeAndUsage(t *testing.T) {
	f := runnerFor(t, false)
	var m anthropicMessageReply
	f.postOK(t, "/v1/messages", messagesBody("hello world", map[string]any{"max_tokens": 7, "temperature": 1.0}), &m)
	if !strings.HasPrefix(m.ID, "msg_") || m.Type != "message" || m.Role != "assistant" || m.Model != "tiny" {
		t.Fatalf("message %+v", m)
	}
	if m.text(t) == "" || m.StopReason != "max_tokens" || m.StopSequence != nil {
		t.Fatalf("reply %+v after max_tokens, want stop_reason max_tokens and no stop_sequence", m)
	}
	want := f.tokenCount(t, chatML("user", "hello world"))
	u := m.Usage
	if u.InputTokens+u.CacheReadInputTokens != want || u.OutputTokens != 7 {
		t.Fatalf("usage %+v, want input + cache_read = %d (from /tokenize), 7 output", u, want)
	}
}

// TestMessagesStopSequence stops a seeded generation inside its own text.
func TestMessagesStopSequence(t *testing.T) {
	f := runnerFor(t, false)
	extra := func(stop []string) map[string]any {
		// the server's seed applies: /v1/messages takes no seed field, as in llama-server
		return map[string]any{"max_tokens": 24, "temperature": 0.0, "stop_sequences": stop}
	}
	var full anthropicMessageReply
	f.postOK(t, "/v1/messages", messagesBody("tell me", extra(nil)), &full)
	text := full.text(t)
	if len(text) < 8 {
		t.Skipf("greedy reply %q too short to cut", text)
	}
	stop := text[len(text)/2 : len(text)/2+2]
	var cut anthropicMessageReply
	f.postOK(t, "/v1/messages", messagesBody("tell me", extra([]string{stop})), &cut)
	if cut.StopReason != "stop_sequence" || cut.StopSequence == nil || *cut.StopSequence != stop {
		t.Fatalf("stop_reason %q, stop_sequence %v; want stop_sequence %q", cut.StopReason, cut.StopSequence, stop)
	}
	if got, want := cut.text(t), text[:strings.Index(text, stop)]; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
}

func TestMessagesStreamEvents(t *testing.T) {
	f := runnerFor(t, false)
	body := func() map[string]any {
		return messagesBody("hello world", map[string]any{"max_tokens": 10, "temperature": 0.0})
	}
	var whole anthropicMessageReply
	f.postOK(t, "/v1/messages", body(), &whole)
	events := f.typedEvents(t, "/v1/messages", body())
	got := names(events)
	head := []string{"message_start", "ping", "content_block_start"}
	tail := []string{"content_block_stop", "message_delta", "message_stop"}
	if len(got) < len(head)+len(tail)+1 || strings.Join(got[:3], " ") != strings.Join(head, " ") ||
		strings.Join(got[len(got)-3:], " ") != strings.Join(tail, " ") {
		t.Fatalf("events %v, want %v, deltas, %v", got, head, tail)
	}
	var text strings.Builder
	for i, ev := range events {
		var d struct {
			Type  string `json:"type"`
			Index *int   `json:"index"`
			Delta struct {
				Type       string `json:"type"`
				Text       string `json:"text"`
				StopReason string `json:"stop_reason"`
			} `json:"delta"`
			Message anthropicMessageReply `json:"message"`
			Usage   struct {
				InputTokens          int `json:"input_tokens"`
				CacheReadInputTokens int `json:"cache_read_input_tokens"`
				OutputTokens         int `json:"output_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(ev.data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Type != ev.name {
			t.Fatalf("event %s has type %q", ev.name, d.Type)
		}
		switch ev.name {
		case "message_start":
			if !strings.HasPrefix(d.Message.ID, "msg_") || d.Message.Role != "assistant" || len(d.Message.Content) != 0 {
				t.Fatalf("message_start %s", ev.data)
			}
		case "content_block_delta":
			if i < 3 || d.Index == nil || *d.Index != 0 || d.Delta.Type != "text_delta" {
				t.Fatalf("event %d: %s", i, ev.data)
			}
			text.WriteString(d.Delta.Text)
		case "message_delta":
			if d.Delta.StopReason != whole.StopReason || d.Usage.OutputTokens != whole.Usage.OutputTokens ||
				d.Usage.InputTokens+d.Usage.CacheReadInputTokens != whole.Usage.InputTokens+whole.Usage.CacheReadInputTokens {
				t.Fatalf("message_delta %s, the whole answer had %+v", ev.data, whole)
			}
		}
	}
	if text.String() != whole.text(t) {
		t.Fatalf("streamed %q, whole %q (greedy)", text.String(), whole.text(t))
	}
}

// TestMessagesSystemAndBlocksFormatAsChat checks the conversion by the prompt's length: count_tokens must
// count the ChatML text of the system blocks (joined as they are) and of the messages (blocks joined by
// newlines), and a reply's usage must agree.
func TestMessagesSystemAndBlocksFormatAsChat(t *testing.T) {
	f := runnerFor(t, false)
	body := map[string]any{
		"system": []any{map[string]any{"type": "text", "text": "be"}, map[string]any{"type": "text", "text": " kind"}},
		"messages": []any{
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "one"},
				map[string]any{"type": "text", "text": "two"}}},
			map[string]any{"role": "assistant", "content": "three"},
			map[string]any{"role": "user", "content": "four"},
		},
		"metadata": map[string]any{"user_id": "u1"},
	}
	want := f.tokenCount(t, chatML("system", "be kind", "user", "one\ntwo", "assistant", "three", "user", "four"))
	var counted map[string]int
	f.postOK(t, "/v1/messages/count_tokens", body, &counted)
	if len(counted) != 1 || counted["input_tokens"] != want {
		t.Fatalf("count_tokens %v, want {input_tokens: %d}", counted, want)
	}
	body["max_tokens"] = 2
	var m anthropicMessageReply
	f.postOK(t, "/v1/messages", body, &m)
	if m.Usage.InputTokens+m.Usage.CacheReadInputTokens != want {
		t.Fatalf("usage %+v, want %d prompt tokens", m.Usage, want)
	}
}

// TestMessagesWithoutMaxTokens follows llama-server, which accepts a request without max_tokens (Anthropic
// requires it) and limits the reply to 4096 tokens.
func TestMessagesWithoutMaxTokens(t *testing.T) {
	f := runnerFor(t, false)
	var m anthropicMessageReply
	f.postOK(t, "/v1/messages", messagesBody("hi", map[string]any{"stop_sequences": []string{" "}}), &m)
	if m.Type != "message" {
		t.Fatalf("reply %+v", m)
	}
}

func TestMessagesRefusesWhatItCannotHonour(t *testing.T) {
	f := runnerFor(t, false)
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"server tool", messagesBody("hi", map[string]any{"tools": []any{map[string]any{"type": "web_search_20250305", "name": "web_search"}}}), "tools[0]"},
		{"redacted thinking block", messagesBody("hi", nil), "messages[1].content[0]"},
		{"image block", messagesBody([]any{map[string]any{"type": "image", "source": map[string]any{}}}, nil), "messages[0].content[0]"},
		{"server tool block", messagesBody([]any{map[string]any{"type": "web_search_tool_result", "tool_use_id": "x"}}, nil), "messages[0].content[0]"},
		{"mcp servers", messagesBody("hi", map[string]any{"mcp_servers": []any{map[string]any{"url": "http://x"}}}), "mcp_servers"},
	}
	cases[1].body["messages"] = []any{map[string]any{"role": "user", "content": "hi"},
		map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "redacted_thinking", "data": "x"}}},
		map[string]any{"role": "user", "content": "go on"}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.body["max_tokens"] = 2
			for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
				status, raw := f.post(t, path, c.body)
				msg, typ := errorOf(t, raw)
				if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, `"`+c.field+`"`) ||
					!strings.Contains(msg, "not supported") {
					t.Fatalf("%s: status %d, %s: %q; want 400 naming %q as not supported", path, status, typ, msg, c.field)
				}
			}
		})
	}
	neutral := messagesBody("hi", map[string]any{"max_tokens": 2, "tools": []any{}, "tool_choice": map[string]any{"type": "auto"}})
	if status, raw := f.post(t, "/v1/messages", neutral); status != http.StatusOK {
		t.Fatalf("neutral values: status %d %s", status, raw)
	}
}

func TestMessagesBadInput(t *testing.T) {
	f := runnerFor(t, false)
	for _, body := range []map[string]any{
		{"max_tokens": 2},
		{"max_tokens": 2, "messages": "hi"},
		{"max_tokens": 2, "messages": []any{}},
		{"max_tokens": 2, "messages": []any{map[string]any{"role": "system", "content": "x"}}},
		{"max_tokens": 2, "messages": []any{map[string]any{"role": "user", "content": 5}}},
		{"max_tokens": 2, "messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text"}}}}},
		{"max_tokens": 2, "system": 3, "messages": []any{map[string]any{"role": "user", "content": "x"}}},
		{"max_tokens": -7, "messages": []any{map[string]any{"role": "user", "content": "x"}}},
		{"max_tokens": 2, "stop_sequences": make([]string, maxStopStrings+1), "messages": []any{map[string]any{"role": "user", "content": "x"}}},
	} {
		status, raw := f.post(t, "/v1/messages", body)
		if status != http.StatusBadRequest {
			t.Fatalf("%v: status %d %s, want 400", body, status, raw)
		}
		errorOf(t, raw)
	}
}

// TestMessagesMatchLlamaServer sends the same greedy request to the runner and to the real llama-server on
// the same model: text, stop reason, token counts and count_tokens must agree.
func TestMessagesMatchLlamaServer(t *testing.T) {
	f := runnerFor(t, false)
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	ls := realLlamaServer(t, model, "-c", "8192", "-np", "4")
	body := func() map[string]any {
		return map[string]any{"system": "be brief", "max_tokens": 12, "temperature": 0,
			"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "hello world"}}}}}
	}
	var ours, theirs anthropicMessageReply
	f.postOK(t, "/v1/messages", body(), &ours)
	ls.postOK(t, "/v1/messages", body(), &theirs)
	inputOf := func(m anthropicMessageReply) int { return m.Usage.InputTokens + m.Usage.CacheReadInputTokens }
	if ours.text(t) != theirs.text(t) || ours.StopReason != theirs.StopReason || inputOf(ours) != inputOf(theirs) ||
		ours.Usage.OutputTokens != theirs.Usage.OutputTokens {
		t.Fatalf("runner %+v\nllama-server %+v", ours, theirs)
	}
	var ourCount, theirCount map[string]int
	f.postOK(t, "/v1/messages/count_tokens", body(), &ourCount)
	ls.postOK(t, "/v1/messages/count_tokens", body(), &theirCount)
	if ourCount["input_tokens"] != theirCount["input_tokens"] || ourCount["input_tokens"] != inputOf(ours) {
		t.Fatalf("count_tokens %v, llama-server %v, usage %d", ourCount, theirCount, inputOf(ours))
	}
	// (last: llama-server closes the connection after a stream, which a client reusing it would see as EOF)
	// streamed: the same events in the same order, but for the ping llama-server does not send
	ourEvents := slices.DeleteFunc(names(f.typedEvents(t, "/v1/messages", body())), func(n string) bool { return n == "ping" })
	if theirEvents := names(ls.typedEvents(t, "/v1/messages", body())); strings.Join(ourEvents, " ") != strings.Join(theirEvents, " ") {
		t.Fatalf("events %v\nllama-server %v", ourEvents, theirEvents)
	}
}
