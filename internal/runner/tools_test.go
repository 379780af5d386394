package runner

import (
	"encoding/json"
	"strings"
	"testing"

	"custos/internal/toolcall"
)

// These tests turn known model output into the reply, without a model: a random model's output would
// not hold a call.

func TestReplyMessageReadsCalls(t *testing.T) {
	cases := []struct {
		family toolcall.Family
		output string
	}{
		{toolcall.Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"},
		{toolcall.Llama3, `{"name": "get_weather", "parameters": {"city": "Paris"}}`},
		{toolcall.Mistral, `[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}]`},
	}
	for _, c := range cases {
		r := &replyFormat{family: c.family, parallel: true}
		msg, finish := r.message(c.output, finishStop)
		if finish != "tool_calls" {
			t.Errorf("%v: finish_reason %q, want tool_calls", c.family, finish)
		}
		calls, _ := msg["tool_calls"].([]map[string]any)
		if len(calls) != 1 || msg["content"] != "" {
			t.Fatalf("%v: message %v", c.family, msg)
		}
		fn := calls[0]["function"].(map[string]any)
		id := calls[0]["id"].(string)
		if calls[0]["type"] != "function" || fn["name"] != "get_weather" || fn["arguments"] != `{"city": "Paris"}` || id == "" {
			t.Errorf("%v: call %v", c.family, calls[0])
		}
		if c.family == toolcall.Mistral && len(id) != 9 {
			t.Errorf("Mistral call id %q: want 9 characters", id)
		}
	}
}

func TestReplyMessageCutShortIsContent(t *testing.T) {
	r := &replyFormat{family: toolcall.Hermes, parallel: true, prefill: toolcall.Prefill(toolcall.Hermes, "get_weather")}
	msg, finish := r.message(`{"city": "Par`, finishLength)
	if finish != finishLength || msg["tool_calls"] != nil {
		t.Errorf("finish %q, message %v", finish, msg)
	}
	if want := r.prefill + `{"city": "Par`; msg["content"] != want {
		t.Errorf("content %q, want %q", msg["content"], want)
	}
}

func TestReplyMessageStoppedByLengthKeepsLength(t *testing.T) {
	r := &replyFormat{family: toolcall.Hermes, parallel: true}
	_, finish := r.message("<tool_call>{\"name\": \"f\"}</tool_call>", finishLength)
	if finish != finishLength {
		t.Errorf("finish %q: a reply cut by the token limit says length, as llama-server", finish)
	}
}

func TestParallelToolCallsFalseKeepsOne(t *testing.T) {
	out := "<tool_call>{\"name\": \"a\"}</tool_call><tool_call>{\"name\": \"b\"}</tool_call>"
	for parallel, want := range map[bool]int{true: 2, false: 1} {
		r := &replyFormat{family: toolcall.Hermes, parallel: parallel}
		msg, _ := r.message(out, finishStop)
		if got := len(msg["tool_calls"].([]map[string]any)); got != want {
			t.Errorf("parallel %v: %d calls, want %d", parallel, got, want)
		}
	}
}

func TestPlainReplyIsUntouched(t *testing.T) {
	r := &replyFormat{}
	msg, finish := r.message("<tool_call>{\"name\": \"a\"}</tool_call>", finishStop)
	if finish != finishStop || msg["tool_calls"] != nil || msg["content"] != "<tool_call>{\"name\": \"a\"}</tool_call>" {
		t.Errorf("a request without tools got %v, %q", msg, finish)
	}
}

func TestStreamedReplySendsTextThenCalls(t *testing.T) {
	r := &replyFormat{family: toolcall.Hermes, parallel: true}
	raw := streamedChunks(t, r, []string{"Let me ", "check.\n<tool", "_call>\n{\"name\": \"get_", "time\"}\n</tool_call>"})
	var chunks []struct {
		Choices []struct {
			Delta struct {
				Role      string `json:"role"`
				Content   string `json:"content"`
				ToolCalls []struct {
					Index    int    `json:"index"`
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &chunks); err != nil {
		t.Fatal(err)
	}
	var content strings.Builder
	var names []string
	for _, ch := range chunks {
		d := ch.Choices[0].Delta
		content.WriteString(d.Content)
		for _, tc := range d.ToolCalls {
			if tc.ID == "" || tc.Type != "function" {
				t.Errorf("tool call delta %+v lacks its id or type", tc)
			}
			names = append(names, tc.Function.Name)
		}
	}
	if content.String() != "Let me check.\n" || len(names) != 1 || names[0] != "get_time" {
		t.Errorf("content %q, calls %v; events %s", content.String(), names, raw)
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Errorf("the first delta has no role: %s", raw)
	}
	last := chunks[len(chunks)-1].Choices[0]
	if last.FinishReason == nil || *last.FinishReason != "tool_calls" {
		t.Errorf("last chunk's finish_reason: %s", raw)
	}
}
