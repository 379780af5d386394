package runner

import (
	"encoding/json"
	"strings"
	"testing"
)

// The reasoning budget (reasoningbudget.go) on the Messages and Responses APIs.

// typedEventData reads the data of a message stream's events.
func typedEventData(t *testing.T, events []typedEvent) []anthropicEventData {
	t.Helper()
	out := make([]anthropicEventData, len(events))
	for i, ev := range events {
		if err := json.Unmarshal(ev.data, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// On a template whose generation prompt opens the reasoning, a random model never closes it: with a budget
// the closing tag is forced and the rest of the reply is text, whole and streamed alike.
func TestMessagesThinkingBudgetEndsTheReasoning(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	body := func(thinking map[string]any) map[string]any {
		return messagesBody("hello", map[string]any{"max_tokens": 12, "temperature": 0.0, "thinking": thinking})
	}
	var free, bounded struct {
		Content []anthropicBlockReply `json:"content"`
	}
	f.postOK(t, "/v1/messages", body(map[string]any{"type": "enabled", "budget_tokens": 10000}), &free)
	f.postOK(t, "/v1/messages", body(map[string]any{"type": "enabled", "budget_tokens": 4}), &bounded)
	if len(free.Content) != 1 || free.Content[0].Type != "thinking" {
		t.Fatalf("within its budget: content %+v, want the reply all reasoning", free.Content)
	}
	if len(bounded.Content) != 2 || bounded.Content[0].Type != "thinking" || bounded.Content[1].Type != "text" ||
		!strings.HasPrefix(free.Content[0].Thinking, bounded.Content[0].Thinking) || bounded.Content[0].Thinking == free.Content[0].Thinking {
		t.Fatalf("with a budget of 4: content %+v, want a shorter reasoning of the same start, then text", bounded.Content)
	}
	var thinking, text strings.Builder
	for _, d := range typedEventData(t, f.typedEvents(t, "/v1/messages", body(map[string]any{"type": "enabled", "budget_tokens": 4}))) {
		thinking.WriteString(d.Delta.Thinking)
		text.WriteString(d.Delta.Text)
	}
	if thinking.String() != bounded.Content[0].Thinking || text.String() != bounded.Content[1].Text {
		t.Errorf("streamed thinking %q and text %q, whole %+v", thinking.String(), text.String(), bounded.Content)
	}
}

// /v1/responses takes the same budget fields, as llama-server passes them on to chat.
func TestResponsesReasoningBudgetEndsTheReasoning(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	var r reasoningResponse
	f.postOK(t, "/v1/responses", map[string]any{"input": "hello", "max_output_tokens": 12, "temperature": 0.0,
		"reasoning_budget_tokens": 4}, &r)
	if len(r.Output) != 2 || r.Output[0].Type != "reasoning" || r.Output[1].Type != "message" {
		t.Errorf("output %+v, want the reasoning cut short, then the message", r.Output)
	}
}
