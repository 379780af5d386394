package runner

import (
	"encoding/json"
	"strings"
	"testing"
)

var okFormat = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "answer",
	"schema": map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}, "required": []string{"ok"}}}}

type thinkingAnswer struct {
	Choices []struct {
		Message struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
		} `json:"message"`
	} `json:"choices"`
}

// answerOK checks that content is a JSON object with a boolean "ok".
func answerOK(t *testing.T, what string, a thinkingAnswer) {
	t.Helper()
	if len(a.Choices) != 1 {
		t.Fatalf("%s: %d choices", what, len(a.Choices))
	}
	var doc struct{ OK *bool }
	if err := json.Unmarshal([]byte(a.Choices[0].Message.Content), &doc); err != nil || doc.OK == nil {
		t.Errorf("%s: content %q (reasoning %q) is not the schema's JSON", what, a.Choices[0].Message.Content, a.Choices[0].Message.ReasoningContent)
	}
}

// A random model never closes its reasoning itself, so a budget ends it; the JSON must follow it in the
// content, not be written inside the reasoning.
func TestAThinkingModelAskedForJSONReasonsFirst(t *testing.T) {
	f := serveTemplate(t, openThinkingTemplate)
	var a thinkingAnswer
	f.postOK(t, "/v1/chat/completions", chatBody("hi", map[string]any{"response_format": okFormat, "max_tokens": 64,
		"reasoning_budget_tokens": 6}), &a)
	answerOK(t, "json_schema after a reasoning of 6 tokens", a)
	if len(a.Choices) == 1 && strings.TrimSpace(a.Choices[0].Message.ReasoningContent) == "" {
		t.Errorf("no reasoning before the JSON: %+v", a)
	}
	var off thinkingAnswer
	f.postOK(t, "/v1/chat/completions", chatBody("hi", map[string]any{"response_format": okFormat, "max_tokens": 64,
		"chat_template_kwargs": map[string]any{"enable_thinking": false}}), &off)
	answerOK(t, "json_schema with the thinking off", off)
	f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{"grammar": `root ::= "yes"`, "reasoning_budget_tokens": 3}),
		`"reasoning_budget_tokens"`)
}

func TestAModelThatOpensItsReasoningMayAnswerJSONWithOrWithout(t *testing.T) {
	f := serveTemplate(t, closedThinkingTemplate)
	for seed := range 3 {
		var a thinkingAnswer
		f.postOK(t, "/v1/chat/completions", chatBody("hi", map[string]any{"response_format": okFormat, "max_tokens": 96,
			"seed": seed, "reasoning_budget_tokens": 4}), &a)
		answerOK(t, "json_schema on a template whose model opens the reasoning", a)
	}
}

// hermesOpenThinkingTemplate calls tools in <tool_call> and opens the reasoning in its generation prompt,
// as Qwen3's does.
const hermesOpenThinkingTemplate = "{%- if tools -%}{{- '<|im_start|>system\\nCall tools in <tool_call></tool_call>.<|im_end|>\\n' -}}{%- endif -%}" +
	openThinkingTemplate

// A required call on a thinking template comes after the reasoning, as in llama-server: the reasoning is
// read out, and the call is parsed from what follows it. A budget ends the random model's reasoning.
func TestARequiredCallComesAfterTheReasoning(t *testing.T) {
	f := serveTemplate(t, hermesOpenThinkingTemplate)
	var out struct {
		Choices []struct {
			Message struct {
				Content          string `json:"content"`
				ReasoningContent string `json:"reasoning_content"`
				ToolCalls        []struct {
					Function struct{ Name, Arguments string } `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	// An enum keeps the random model's arguments short.
	tools := []map[string]any{{"type": "function", "function": map[string]any{"name": "get_weather",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"enum": []string{"Paris", "Rome"}}},
			"required": []string{"city"}}}}}
	f.postOK(t, "/v1/chat/completions", chatBody("Weather in Paris?", map[string]any{"tools": tools,
		"tool_choice": "required", "max_tokens": 96, "reasoning_budget_tokens": 5}), &out)
	if len(out.Choices) != 1 {
		t.Fatalf("%d choices", len(out.Choices))
	}
	m := out.Choices[0].Message
	var args map[string]any
	if strings.TrimSpace(m.ReasoningContent) == "" || len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Name != "get_weather" ||
		json.Unmarshal([]byte(m.ToolCalls[0].Function.Arguments), &args) != nil {
		t.Fatalf("reasoning %q, calls %+v, content %q: want a reasoning, then one call of get_weather", m.ReasoningContent, m.ToolCalls, m.Content)
	}
}

// TestARequiredCallBeyondTheGrammarComesAfterTheReasoning: when the tools' schemas have no grammar, a
// required call's first characters used to be prefilled inside the open reasoning block; they now come
// after it, the reasoning is read out, and what follows it starts with the call.
func TestARequiredCallBeyondTheGrammarComesAfterTheReasoning(t *testing.T) {
	f := serveTemplate(t, hermesOpenThinkingTemplate)
	tools := []map[string]any{{"type": "function", "function": map[string]any{"name": "odd",
		"parameters": map[string]any{"type": "object", "not": map[string]any{"required": []string{"x"}}}}}}
	body := chatBody("x", map[string]any{"tools": tools, "tool_choice": "required", "max_tokens": 40,
		"reasoning_budget_tokens": 5, "ignore_eos": true})
	if prompt := applyTemplate(t, f, body); !strings.HasSuffix(prompt, "<think>\n") {
		t.Errorf("the prompt does not end with the opened reasoning:\n%s", prompt)
	}
	var out thinkingAnswer
	f.postOK(t, "/v1/chat/completions", body, &out)
	m := out.Choices[0].Message
	if strings.TrimSpace(m.ReasoningContent) == "" || strings.Contains(m.ReasoningContent, "<tool_call>") ||
		!strings.HasPrefix(strings.TrimLeft(m.Content, " \t\n"), "<tool_call>\n{\"name\": \"") {
		t.Fatalf("reasoning %q, content %q: want a reasoning, then the call's first characters", m.ReasoningContent, m.Content)
	}
}
