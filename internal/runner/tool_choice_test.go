package runner

import (
	"encoding/json"
	"strings"
	"testing"
)

// toolReply is a chat completion with tool calls.
type toolReply struct {
	Choices []struct {
		Message struct {
			Content   string `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct{ Name, Arguments string }
			} `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// A random model does not write tool calls of its own, so these tests check what custos controls: that
// a forced call's opening is in the prompt (the reply continues it) and the reply's shape.

func TestNamedToolChoiceOpensTheCall(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	body := chatBody("Weather in Paris?", map[string]any{"tools": weatherTools, "max_tokens": 6, "seed": 3,
		"tool_choice": map[string]any{"type": "function", "function": map[string]any{"name": "get_weather"}}})
	prefill := "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
	if prompt := applyTemplate(t, f, body); !strings.HasSuffix(prompt, "<|im_start|>assistant\n"+prefill) {
		t.Errorf("the prompt does not end with the call's opening:\n%s", prompt)
	}
	var reply toolReply
	f.postOK(t, "/v1/chat/completions", body, &reply)
	ch := reply.Choices[0]
	switch {
	case len(ch.Message.ToolCalls) == 1:
		if c := ch.Message.ToolCalls[0]; c.Function.Name != "get_weather" || ch.FinishReason != "tool_calls" {
			t.Errorf("call %+v, finish %q", c, ch.FinishReason)
		}
	case !strings.HasPrefix(ch.Message.Content, prefill) || ch.FinishReason != "length":
		t.Errorf("a call cut short should come back as content starting with the opening: %q, finish %q",
			ch.Message.Content, ch.FinishReason)
	}
}

func TestRequiredToolChoiceStreamsLikeTheWholeReply(t *testing.T) {
	f := serveTemplate(t, llamaTemplate)
	body := func() map[string]any {
		return chatBody("Weather in Paris?", map[string]any{"tools": weatherTools, "tool_choice": "required",
			"max_tokens": 8, "seed": 5})
	}
	var whole toolReply
	f.postOK(t, "/v1/chat/completions", body(), &whole)
	events, done := f.streamEvents(t, "/v1/chat/completions", body())
	if !done {
		t.Fatal("no [DONE]")
	}
	var content strings.Builder
	calls, finish := 0, ""
	for _, ev := range events {
		var ch struct {
			Choices []struct {
				Delta struct {
					Content   string            `json:"content"`
					ToolCalls []json.RawMessage `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(ev, &ch); err != nil {
			t.Fatal(err)
		}
		content.WriteString(ch.Choices[0].Delta.Content)
		calls += len(ch.Choices[0].Delta.ToolCalls)
		if ch.Choices[0].FinishReason != nil {
			finish = *ch.Choices[0].FinishReason
		}
	}
	w := whole.Choices[0]
	if content.String() != w.Message.Content || calls != len(w.Message.ToolCalls) || finish != w.FinishReason {
		t.Errorf("stream: content %q, %d calls, finish %q; whole reply: content %q, %d calls, finish %q",
			content.String(), calls, finish, w.Message.Content, len(w.Message.ToolCalls), w.FinishReason)
	}
	if len(w.Message.ToolCalls) == 0 && !strings.HasPrefix(w.Message.Content, `{"name": "`) {
		t.Errorf("required: the reply should continue the call's opening, got %q", w.Message.Content)
	}
}

func TestParseToolCallsFalseLeavesTheText(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	body := chatBody("Weather in Paris?", map[string]any{"tools": weatherTools, "tool_choice": "required",
		"parse_tool_calls": false})
	if prompt := applyTemplate(t, f, body); !strings.HasSuffix(prompt, "<|im_start|>assistant\n") {
		t.Errorf("with parse_tool_calls false nothing should open a call:\n%s", prompt)
	}
}
