package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"custos/internal/toolcall"
)

// anthropicBlockReply is one content block of an answer, as the thinking tests read it.
type anthropicBlockReply struct {
	Type      string  `json:"type"`
	Text      string  `json:"text"`
	Thinking  string  `json:"thinking"`
	Signature *string `json:"signature"`
	Name      string  `json:"name"`
}

// anthropicEventData is the part of a stream event the thinking tests read.
type anthropicEventData struct {
	Type         string              `json:"type"`
	Index        *int                `json:"index"`
	ContentBlock anthropicBlockReply `json:"content_block"`
	Delta        struct {
		Type      string  `json:"type"`
		Text      string  `json:"text"`
		Thinking  string  `json:"thinking"`
		Signature *string `json:"signature"`
	} `json:"delta"`
}

// A random model never closes its reasoning: on a template whose generation prompt opens it, the whole
// reply is reasoning, a thinking block with no text block after it.
func TestMessagesReplyReasoningIsAThinkingBlock(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	body := func() map[string]any {
		return messagesBody("hello", map[string]any{"max_tokens": 8, "temperature": 0.0})
	}
	var whole struct {
		Content    []anthropicBlockReply `json:"content"`
		StopReason string                `json:"stop_reason"`
	}
	f.postOK(t, "/v1/messages", body(), &whole)
	if len(whole.Content) != 1 || whole.Content[0].Type != "thinking" || whole.Content[0].Thinking == "" ||
		whole.Content[0].Signature == nil || *whole.Content[0].Signature != "" {
		t.Fatalf("content %+v, want one thinking block with its reasoning and an empty signature", whole.Content)
	}
	var thinking strings.Builder
	var kinds []string
	for _, ev := range f.typedEvents(t, "/v1/messages", body()) {
		var d anthropicEventData
		if err := json.Unmarshal(ev.data, &d); err != nil {
			t.Fatal(err)
		}
		kind := ev.name
		switch {
		case ev.name == "content_block_start":
			kind += ":" + d.ContentBlock.Type
		case ev.name == "content_block_delta":
			kind += ":" + d.Delta.Type
			thinking.WriteString(d.Delta.Thinking)
		}
		if d.Index != nil && *d.Index != 0 {
			t.Errorf("%s at index %d, want 0", ev.name, *d.Index)
		}
		if n := len(kinds); n == 0 || kinds[n-1] != kind {
			kinds = append(kinds, kind)
		}
	}
	want := "message_start ping content_block_start:thinking content_block_delta:thinking_delta " +
		"content_block_delta:signature_delta content_block_stop message_delta message_stop"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("events %s\nwant %s", got, want)
	}
	if thinking.String() != whole.Content[0].Thinking {
		t.Errorf("streamed thinking %q, whole %q", thinking.String(), whole.Content[0].Thinking)
	}
}

// streamedMessage feeds pieces to a message stream for r and returns its events' data, the reply ending
// at an end of generation.
func streamedMessage(t *testing.T, r *replyFormat, pieces []string) []anthropicEventData {
	t.Helper()
	ms := &messageState{id: "msg_1", model: "m", stream: r.stream()}
	var evs []sseEvent
	for _, p := range pieces {
		evs = append(evs, ms.text(p, nil)...)
	}
	evs = append(evs, ms.close(&result{choices: []choiceEnd{{finishReason: finishStop, stopType: stopTypeEOS}}})...)
	out := make([]anthropicEventData, len(evs))
	for i, ev := range evs {
		raw, err := json.Marshal(ev.data)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The thinking block comes first and is closed, with its signature, before the text block opens; the
// text and the tool_use blocks follow at the next indexes.
func TestMessagesStreamThinkingBeforeTextAndCalls(t *testing.T) {
	tags := tagsOf(t, hermesThinkingTemplate)
	r := &replyFormat{family: toolcall.Hermes, parallel: true, thinking: tags.reply("<|im_start|>assistant\n", true)}
	out := "<think>\nI need the weather.\n</think>\n\nChecking.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	var got []string
	var thinking, text strings.Builder
	for _, d := range streamedMessage(t, r, []string{out[:12], out[12:30], out[30:50], out[50:]}) {
		if d.Index == nil {
			continue
		}
		desc := d.Type + "@" + string(rune('0'+*d.Index))
		switch d.Type {
		case "content_block_start":
			desc += ":" + d.ContentBlock.Type
		case "content_block_delta":
			desc += ":" + d.Delta.Type
			thinking.WriteString(d.Delta.Thinking)
			text.WriteString(d.Delta.Text)
		}
		if n := len(got); n == 0 || got[n-1] != desc {
			got = append(got, desc)
		}
	}
	want := []string{"content_block_start@0:thinking", "content_block_delta@0:thinking_delta",
		"content_block_delta@0:signature_delta", "content_block_stop@0",
		"content_block_start@1:text", "content_block_delta@1:text_delta", "content_block_stop@1",
		"content_block_start@2:tool_use", "content_block_delta@2:input_json_delta", "content_block_stop@2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, " "), strings.Join(want, " "))
	}
	if thinking.String() != "I need the weather.\n" || text.String() != "Checking." {
		t.Errorf("thinking %q, text %q", thinking.String(), text.String())
	}
	reasoning, parsed := r.answer(out)
	if reasoning != thinking.String() || parsed.Content != text.String() || len(parsed.Calls) != 1 {
		t.Errorf("whole reply: reasoning %q, content %q, %d calls", reasoning, parsed.Content, len(parsed.Calls))
	}
}

// thinking disabled closes the reasoning in the prompt, as enable_thinking false does: the reply is text.
func TestMessagesThinkingDisabledTurnsReasoningOff(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	wantOff := f.tokenCount(t, "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
	wantOn := f.tokenCount(t, "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n<think>\n")
	for _, c := range []struct {
		thinking map[string]any
		want     int
	}{
		{map[string]any{"type": "disabled"}, wantOff},
		{map[string]any{"type": "enabled", "budget_tokens": 1024}, wantOn},
		{map[string]any{"type": "adaptive"}, wantOn},
	} {
		var got map[string]int
		f.postOK(t, "/v1/messages/count_tokens", messagesBody("hello", map[string]any{"thinking": c.thinking}), &got)
		if got["input_tokens"] != c.want {
			t.Errorf("count_tokens with thinking %v: %v, want %d", c.thinking, got, c.want)
		}
	}
	var m struct {
		Content []anthropicBlockReply `json:"content"`
	}
	f.postOK(t, "/v1/messages", messagesBody("hello", map[string]any{"max_tokens": 6, "thinking": map[string]any{"type": "disabled"}}), &m)
	if len(m.Content) != 1 || m.Content[0].Type != "text" {
		t.Errorf("content %+v with thinking disabled, want one text block", m.Content)
	}
}

// An assistant turn's thinking blocks are its reasoning_content, which the template shows; their
// signature is not read.
func TestMessagesThinkingBlocksGoToTheTemplate(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	body := map[string]any{"messages": []any{
		map[string]any{"role": "user", "content": "hi"},
		map[string]any{"role": "assistant", "content": []any{
			map[string]any{"type": "thinking", "thinking": "greet", "signature": "sig"},
			map[string]any{"type": "thinking", "thinking": " back"},
			map[string]any{"type": "text", "text": "yo"}}},
		map[string]any{"role": "user", "content": "ok"}}}
	var got map[string]int
	f.postOK(t, "/v1/messages/count_tokens", body, &got)
	prompt := applyTemplate(t, f, map[string]any{"messages": []map[string]any{{"role": "user", "content": "hi"},
		{"role": "assistant", "content": "yo", "reasoning_content": "greet back"}, {"role": "user", "content": "ok"}}})
	if !strings.Contains(prompt, "<think>\ngreet back\n</think>\n\nyo") {
		t.Fatalf("chat's prompt %q lacks the reasoning", prompt)
	}
	if want := f.tokenCount(t, prompt); got["input_tokens"] != want {
		t.Errorf("count_tokens %v, want %d: the thinking blocks as reasoning_content", got, want)
	}
}

func TestMessagesThinkingBadInput(t *testing.T) {
	f := runnerFor(t, false)
	withAssistant := func(block map[string]any) map[string]any {
		return map[string]any{"max_tokens": 2, "messages": []any{map[string]any{"role": "user", "content": "hi"},
			map[string]any{"role": "assistant", "content": []any{block}}, map[string]any{"role": "user", "content": "ok"}}}
	}
	for name, c := range map[string]struct {
		body map[string]any
		want string
	}{
		"thinking not an object":  {messagesBody("hi", map[string]any{"thinking": "on"}), `"thinking"`},
		"unknown thinking type":   {messagesBody("hi", map[string]any{"thinking": map[string]any{"type": "maybe"}}), `"thinking.type"`},
		"budget not an integer":   {messagesBody("hi", map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": "lots"}}), `"thinking.budget_tokens"`},
		"thinking without text":   {withAssistant(map[string]any{"type": "thinking"}), `"messages[1].content[0]"`},
		"thinking in a user turn": {messagesBody([]any{map[string]any{"type": "thinking", "thinking": "x"}}, nil), `"messages[0].content[0]"`},
	} {
		for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
			status, raw := f.post(t, path, c.body)
			if msg, _ := errorOf(t, raw); status != http.StatusBadRequest || !strings.Contains(msg, c.want) {
				t.Errorf("%s on %s: status %d %q, want 400 naming %s", name, path, status, msg, c.want)
			}
		}
	}
}
