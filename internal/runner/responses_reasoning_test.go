package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// reasoningResponse is the part of a response the reasoning tests read.
type reasoningResponse struct {
	Output []struct {
		Type             string  `json:"type"`
		ID               string  `json:"id"`
		Status           string  `json:"status"`
		Summary          []any   `json:"summary"`
		EncryptedContent *string `json:"encrypted_content"`
		Content          []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
}

// A random model writes no closing tag, so the reply is written by a grammar: reasoning, the closing tag,
// then the text.
const closingGrammar = `root ::= "plan it" "\n</think>\n\n" "done"`

func TestResponsesReplyReasoningIsAReasoningItem(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	body := func() map[string]any {
		return map[string]any{"input": "hi", "max_output_tokens": 32, "grammar": closingGrammar}
	}
	var whole reasoningResponse
	f.postOK(t, "/v1/responses", body(), &whole)
	out := whole.Output
	if len(out) != 2 || out[0].Type != "reasoning" || !strings.HasPrefix(out[0].ID, "rs_") || out[0].Status != responseCompleted ||
		out[0].Summary == nil || len(out[0].Summary) != 0 || out[0].EncryptedContent == nil || *out[0].EncryptedContent != "" ||
		len(out[0].Content) != 1 || out[0].Content[0].Type != "reasoning_text" || out[0].Content[0].Text != "plan it\n" {
		t.Fatalf("output %+v, want a reasoning item with its text in one reasoning_text part first", out)
	}
	if out[1].Type != "message" || len(out[1].Content) != 1 || out[1].Content[0].Text != "done" {
		t.Fatalf("output %+v, want the message after the reasoning", out)
	}

	var got []string
	var reasoning, text strings.Builder
	for _, ev := range f.typedEvents(t, "/v1/responses", body()) {
		var d struct {
			OutputIndex *int   `json:"output_index"`
			ItemID      string `json:"item_id"`
			Delta       string `json:"delta"`
			Text        string `json:"text"`
			Item        struct {
				Type   string `json:"type"`
				Status string `json:"status"`
			} `json:"item"`
		}
		if err := json.Unmarshal(ev.data, &d); err != nil {
			t.Fatal(err)
		}
		desc := ev.name
		if d.OutputIndex != nil {
			desc += "@" + string(rune('0'+*d.OutputIndex))
		}
		if d.Item.Type != "" {
			desc += ":" + d.Item.Type + "/" + d.Item.Status
		}
		switch ev.name {
		case "response.reasoning_text.delta":
			reasoning.WriteString(d.Delta)
		case "response.output_text.delta":
			text.WriteString(d.Delta)
		case "response.reasoning_text.done":
			if d.Text != "plan it\n" || !strings.HasPrefix(d.ItemID, "rs_") {
				t.Errorf("reasoning_text.done %s", ev.data)
			}
		}
		if n := len(got); n == 0 || got[n-1] != desc {
			got = append(got, desc)
		}
	}
	want := []string{"response.created", "response.in_progress", "response.output_item.added@0:reasoning/in_progress",
		"response.reasoning_text.delta@0", "response.reasoning_text.done@0", "response.output_item.done@0:reasoning/completed",
		"response.output_item.added@1:message/in_progress", "response.content_part.added@1", "response.output_text.delta@1",
		"response.output_text.done@1", "response.content_part.done@1", "response.output_item.done@1:message/completed",
		"response.completed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, " "), strings.Join(want, " "))
	}
	if reasoning.String() != "plan it\n" || text.String() != "done" {
		t.Errorf("streamed reasoning %q, text %q", reasoning.String(), text.String())
	}
}

// effortTemplate shows the reasoning_effort it is given, and thinks as openThinkingTemplate does.
const effortTemplate = "{%- if reasoning_effort is defined -%}{{- 'effort=' + reasoning_effort + '\\n' -}}{%- endif -%}" +
	openThinkingTemplate

// reasoning.effort is the template's reasoning_effort; "none" turns its reasoning off instead.
func TestResponsesReasoningEffortGoesToTheTemplate(t *testing.T) {
	f := serveTemplate(t, effortTemplate)
	const conversation = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
	for effort, prompt := range map[string]string{
		"high": "effort=high\n" + conversation + "<think>\n",
		"none": conversation + "<think>\n\n</think>\n\n",
		"":     conversation + "<think>\n",
	} {
		body := map[string]any{"input": "hi"}
		if effort != "" {
			body["reasoning"] = map[string]any{"effort": effort}
		}
		var got map[string]any
		f.postOK(t, "/v1/responses/input_tokens", body, &got)
		if want := f.tokenCount(t, prompt); got["input_tokens"] != float64(want) {
			t.Errorf("effort %q: input_tokens %v, want %d (%q)", effort, got["input_tokens"], want, prompt)
		}
	}
}

// A reasoning item is the reasoning_content of the assistant turn it opens, or of the one before it.
func TestResponsesReasoningItemsAreReasoningContent(t *testing.T) {
	reasoningItem := func(text string) map[string]any {
		return map[string]any{"type": "reasoning", "id": "rs_1", "summary": []any{},
			"content": []any{map[string]any{"type": "reasoning_text", "text": text}}}
	}
	input, _ := json.Marshal([]any{
		map[string]any{"role": "user", "content": "hi"},
		reasoningItem("greet back"),
		map[string]any{"type": "message", "role": "assistant", "content": "yo"},
		map[string]any{"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
		map[string]any{"type": "function_call_output", "call_id": "a", "output": "ok"},
		reasoningItem("now answer"),
	})
	chat, apiErr := responsesChat(&responsesRequest{Input: input})
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	m := chat.Messages
	if len(m) != 4 || m[1].Role != "assistant" || m[1].ReasoningContent != "greet back" || m[1].Content != "yo" ||
		len(m[1].ToolCalls) != 1 || m[3].Role != "assistant" || m[3].ReasoningContent != "now answer" || m[3].Content != "" {
		t.Fatalf("messages %+v", m)
	}
	after, _ := json.Marshal([]any{map[string]any{"role": "user", "content": "hi"},
		map[string]any{"type": "message", "role": "assistant", "content": "yo"}, reasoningItem("said after")})
	if chat, apiErr = responsesChat(&responsesRequest{Input: after}); apiErr != nil {
		t.Fatal(apiErr)
	}
	if m := chat.Messages; len(m) != 2 || m[1].ReasoningContent != "said after" || m[1].Content != "yo" {
		t.Fatalf("a reasoning item after an assistant message: messages %+v, want it that message's reasoning", m)
	}
	f := serveTemplate(t, openThinkingTemplate)
	var got map[string]any
	f.postOK(t, "/v1/responses/input_tokens", map[string]any{"input": []any{map[string]any{"role": "user", "content": "hi"},
		reasoningItem("greet back"), map[string]any{"type": "message", "role": "assistant", "content": "yo"},
		map[string]any{"role": "user", "content": "ok"}}}, &got)
	prompt := "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\ngreet back\n</think>\n\nyo<|im_end|>\n" +
		"<|im_start|>user\nok<|im_end|>\n<|im_start|>assistant\n<think>\n"
	if want := f.tokenCount(t, prompt); got["input_tokens"] != float64(want) {
		t.Errorf("input_tokens %v, want %d: the reasoning item shown as the reply's reasoning", got["input_tokens"], want)
	}
}

func TestResponsesReasoningBadInput(t *testing.T) {
	f := runnerFor(t, false)
	withItem := func(item map[string]any) map[string]any {
		return map[string]any{"input": []any{map[string]any{"role": "user", "content": "hi"}, item}}
	}
	for name, c := range map[string]struct {
		body map[string]any
		want string
	}{
		"reasoning not an object": {map[string]any{"input": "hi", "reasoning": "high"}, `"reasoning"`},
		"effort not a string":     {map[string]any{"input": "hi", "reasoning": map[string]any{"effort": 3}}, `"reasoning.effort"`},
		"item without content":    {withItem(map[string]any{"type": "reasoning", "summary": []any{}}), `"input[1].content"`},
		"item with another part":  {withItem(map[string]any{"type": "reasoning", "content": []any{map[string]any{"type": "output_text", "text": "x"}}}), `"input[1].content[0]"`},
		"item part without text":  {withItem(map[string]any{"type": "reasoning", "content": []any{map[string]any{"type": "reasoning_text"}}}), `"input[1].content[0]"`},
	} {
		for _, path := range []string{"/v1/responses", "/v1/responses/input_tokens"} {
			status, raw := f.post(t, path, c.body)
			if msg, _ := errorOf(t, raw); status != http.StatusBadRequest || !strings.Contains(msg, c.want) {
				t.Errorf("%s on %s: status %d %q, want 400 naming %s", name, path, status, msg, c.want)
			}
		}
	}
}

// TestResponsesCountTheReasoningTokens: usage.output_tokens_details.reasoning_tokens counts the generated
// tokens up to the reasoning's end marker, whole and streamed: all of them while the reasoning goes on, a
// spent budget and the forced marker when it ends there, none without a thinking template.
func TestResponsesCountTheReasoningTokens(t *testing.T) {
	type usage struct {
		OutputTokens        int `json:"output_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	}
	counts := func(t *testing.T, f *fixture, body func() map[string]any) (whole, streamed usage) {
		t.Helper()
		var r struct {
			Usage usage `json:"usage"`
		}
		f.postOK(t, "/v1/responses", body(), &r)
		events := f.typedEvents(t, "/v1/responses", body())
		var last struct {
			Response struct {
				Usage usage `json:"usage"`
			} `json:"response"`
		}
		if err := json.Unmarshal(events[len(events)-1].data, &last); err != nil {
			t.Fatal(err)
		}
		return r.Usage, last.Response.Usage
	}
	const tokens = 12
	body := func(extra map[string]any) func() map[string]any {
		return func() map[string]any {
			b := map[string]any{"input": "hello", "max_output_tokens": tokens, "temperature": 0.0, "ignore_eos": true}
			for k, v := range extra {
				b[k] = v
			}
			return b
		}
	}
	thinking := serveTemplate(t, openThinkingTemplate)
	var endMarker struct {
		Tokens []int `json:"tokens"`
	}
	thinking.postOK(t, "/tokenize", map[string]any{"content": "</think>"}, &endMarker)
	for _, tc := range []struct {
		name string
		f    *fixture
		body func() map[string]any
		want int
	}{
		{"reasoning to the limit", thinking, body(nil), tokens},
		// The generation prompt's line break after <think> spends one token of the budget, as in llama-server.
		{"a budget of 4", thinking, body(map[string]any{"reasoning_budget_tokens": 4}), 3 + len(endMarker.Tokens)},
		{"no thinking template", runnerFor(t, false), body(nil), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			whole, streamed := counts(t, tc.f, tc.body)
			if whole.OutputTokens != tokens || whole.OutputTokensDetails.ReasoningTokens != tc.want || streamed != whole {
				t.Fatalf("usage %+v, streamed %+v; want %d output tokens, %d of them reasoning", whole, streamed, tokens, tc.want)
			}
		})
	}
}
