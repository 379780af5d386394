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
