package runner

import (
	"net/http"
	"strings"
	"testing"
)

// callHistory is a Responses input whose function_call item carries arguments.
func callHistory(arguments any) map[string]any {
	return map[string]any{"input": []any{
		map[string]any{"role": "user", "content": "Weather in Paris?"},
		map[string]any{"type": "function_call", "call_id": "abcdefghi", "name": "get_weather", "arguments": arguments},
		map[string]any{"type": "function_call_output", "call_id": "abcdefghi", "output": "sunny"},
	}}
}

// TestResponsesCallArgumentsMustBeAString: a function_call item's arguments are a string, as OpenAI and
// llama-server take them; another type gets 400 naming the field.
func TestResponsesCallArgumentsMustBeAString(t *testing.T) {
	f := runnerFor(t, false)
	for _, c := range []struct {
		name string
		args any
	}{
		{"an object", map[string]any{"city": "Paris"}},
		{"a number", 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, raw := f.post(t, "/v1/responses/input_tokens", callHistory(c.args))
			msg, typ := errorOf(t, raw)
			if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, `"input[1].arguments" must be a string`) {
				t.Fatalf("status %d, %s %q; want 400 naming input[1].arguments", status, typ, msg)
			}
		})
	}
}

// TestResponsesCallArgumentsNotJSONAreTheTemplates: arguments that are not JSON are the chat template's
// to read, as in llama-server: a template that walks them as an object (Qwen's) refuses them with 400
// naming the call; ChatML, which shows no calls, takes them.
func TestResponsesCallArgumentsNotJSONAreTheTemplates(t *testing.T) {
	status, raw := serveTemplate(t, qwenTemplate).post(t, "/v1/responses/input_tokens", callHistory("not json"))
	msg, typ := errorOf(t, raw)
	if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, "arguments of tool call get_weather") {
		t.Fatalf("Qwen's template: status %d, %s %q; want 400 naming the call's arguments", status, typ, msg)
	}
	var counted struct {
		InputTokens int `json:"input_tokens"`
	}
	runnerFor(t, false).postOK(t, "/v1/responses/input_tokens", callHistory("not json"), &counted)
	if counted.InputTokens == 0 {
		t.Fatal("ChatML counted no tokens")
	}
}
