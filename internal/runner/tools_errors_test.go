package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// expectError posts body to path and checks the status and that the message says what is wrong.
func expectError(t *testing.T, f *fixture, path string, body any, status int, says string) {
	t.Helper()
	got, raw := f.post(t, path, body)
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("not an error body: %s", raw)
	}
	if got != status || e.Error.Code != status || !strings.Contains(e.Error.Message, says) {
		t.Errorf("POST %s: %d %s; want %d saying %q", path, got, raw, status, says)
	}
}

func TestToolsOnATemplateWithoutToolCalls(t *testing.T) {
	f := runnerFor(t, false) // ChatML: no tool-call format
	expectError(t, f, "/v1/chat/completions", chatBody("hi", map[string]any{"tools": weatherTools}),
		http.StatusBadRequest, "no tool-call format custos knows")
	// tool_choice "none" needs no format: the tools are only shown.
	var reply chatReply
	f.postOK(t, "/v1/chat/completions", chatBody("hi", map[string]any{"tools": weatherTools, "tool_choice": "none", "max_tokens": 2}), &reply)
}

func TestBadToolFields(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	cases := []struct {
		name  string
		extra map[string]any
		says  string
	}{
		{"unknown tool_choice", map[string]any{"tools": weatherTools, "tool_choice": "sometimes"}, "tool_choice"},
		{"named function not in tools", map[string]any{"tools": weatherTools,
			"tool_choice": map[string]any{"type": "function", "function": map[string]any{"name": "get_time"}}}, "get_time"},
		{"required without tools", map[string]any{"tool_choice": "required"}, "needs \"tools\""},
		{"tool type", map[string]any{"tools": []map[string]any{{"type": "retrieval"}}}, "tools[0].type"},
		{"tool without a name", map[string]any{"tools": []map[string]any{{"type": "function", "function": map[string]any{}}}}, "tools[0].function.name"},
		{"tools not an array", map[string]any{"tools": "get_weather"}, "tools"},
		{"functions", map[string]any{"functions": []map[string]any{{"name": "f"}}}, "\"functions\" is not supported"},
		{"function_call", map[string]any{"function_call": "auto"}, "\"function_call\" is not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, f, "/v1/chat/completions", chatBody("hi", c.extra), http.StatusBadRequest, c.says)
			expectError(t, f, "/apply-template", chatBody("hi", c.extra), http.StatusBadRequest, c.says)
		})
	}
	bad := toolHistory()
	bad["messages"].([]map[string]any)[2]["tool_calls"].([]map[string]any)[0]["function"].(map[string]any)["arguments"] = `{"city": `
	expectError(t, f, "/apply-template", bad, http.StatusBadRequest, "arguments of tool call get_weather")
}

func TestTemplateRefusesTheMessages(t *testing.T) {
	f := serveTemplate(t, nemoTemplate)
	body := map[string]any{"messages": []map[string]string{{"role": "user", "content": "a"}, {"role": "user", "content": "b"}}}
	expectError(t, f, "/v1/chat/completions", body, http.StatusBadRequest, "roles must alternate")
	expectError(t, f, "/apply-template", body, http.StatusBadRequest, "roles must alternate")
}

func TestBrokenTemplateIsAServerError(t *testing.T) {
	for name, tmpl := range map[string]string{
		"fails while rendering": "{{ messages | no_such_filter }}",
		"does not parse":        "{% for m in messages %}{{ m.content }}",
	} {
		t.Run(name, func(t *testing.T) {
			f := serveTemplate(t, tmpl)
			expectError(t, f, "/v1/chat/completions", chatBody("hi", nil), http.StatusInternalServerError, "chat template")
			// Completions do not need the template.
			var out nativeReply
			f.postOK(t, "/completion", map[string]any{"prompt": "hi", "n_predict": 1}, &out)
		})
	}
}

func TestToolsNeedJinja(t *testing.T) {
	f := &fixture{base: serveRunner(t, Config{NoJinja: true, CtxSize: 2048, Seed: testSeed, NPredict: -1})}
	expectError(t, f, "/v1/chat/completions", chatBody("hi", map[string]any{"tools": weatherTools}),
		http.StatusBadRequest, "tools param requires --jinja flag")
	expectError(t, f, "/v1/chat/completions", chatBody("hi", map[string]any{"tool_choice": "none"}),
		http.StatusBadRequest, "tool_choice param requires --jinja flag")
	if got, want := applyTemplate(t, f, chatBody("hi", nil)), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("llama.cpp's built-in ChatML: %q, want %q", got, want)
	}
}

func TestMessagesLlamaServerRefuses(t *testing.T) {
	f := runnerFor(t, false)
	cases := map[string]struct {
		messages []map[string]any
		says     string
	}{
		"no content": {[]map[string]any{{"role": "user"}}, "All non-assistant messages must contain 'content'"},
		"assistant with nothing": {[]map[string]any{{"role": "user", "content": "a"}, {"role": "assistant"}},
			"Assistant message must contain either 'content' or 'tool_calls'!"},
		"two assistants at the end": {[]map[string]any{{"role": "user", "content": "a"},
			{"role": "assistant", "content": "b"}, {"role": "assistant", "content": "c"}},
			"Cannot have 2 or more assistant messages at the end of the list."},
		"continuing a tool call": {[]map[string]any{{"role": "user", "content": "a"}, {"role": "assistant",
			"tool_calls": []map[string]any{{"id": "x", "type": "function", "function": map[string]any{"name": "f", "arguments": "{}"}}}}},
			"Cannot continue an assistant message that contains tool calls."},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			expectError(t, f, "/apply-template", map[string]any{"messages": c.messages}, http.StatusBadRequest, c.says)
		})
	}
}
