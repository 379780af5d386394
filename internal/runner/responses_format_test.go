package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// okSchema is a JSON Schema of one required boolean, short enough for a random model to finish.
var okSchema = map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}},
	"required": []string{"ok"}, "additionalProperties": false}

// responseText posts a Responses request with extra and returns the response and its whole text, which
// must be complete.
func responseText(t *testing.T, f *fixture, extra map[string]any) (map[string]any, string) {
	t.Helper()
	whole, text, status := responseTextOf(t, f, extra)
	if status != responseCompleted {
		t.Fatalf("status %q: the constrained reply did not finish within 64 tokens: %q", status, text)
	}
	return whole, text
}

// responseTextOf posts a Responses request with extra and returns the response, its whole text and its
// status.
func responseTextOf(t *testing.T, f *fixture, extra map[string]any) (map[string]any, string, string) {
	t.Helper()
	body := map[string]any{"input": "data:", "max_output_tokens": 64, "seed": 3}
	for k, v := range extra {
		body[k] = v
	}
	status, raw := f.post(t, "/v1/responses", body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, raw)
	}
	var r responseObject
	var whole map[string]any
	if json.Unmarshal(raw, &r) != nil || json.Unmarshal(raw, &whole) != nil {
		t.Fatalf("not a response object: %s", raw)
	}
	var text strings.Builder
	for _, item := range r.Output {
		for _, part := range item.Content {
			text.WriteString(part.Text)
		}
	}
	return whole, text.String(), r.Status
}

// TestResponsesHonoursOutputConstraints: text.format json_schema and json_object constrain the reply as
// chat's response_format does, and the response echoes the format; llama-server's grammar and
// json_schema, which it passes on to chat, constrain it too.
func TestResponsesHonoursOutputConstraints(t *testing.T) {
	f := runnerFor(t, false)
	wantOK := func(t *testing.T, text string) {
		var v struct {
			OK *bool `json:"ok"`
		}
		if err := json.Unmarshal([]byte(text), &v); err != nil || v.OK == nil {
			t.Fatalf("reply %q is not an object with a boolean \"ok\"", text)
		}
	}
	t.Run("text.format json_schema", func(t *testing.T) {
		format := map[string]any{"type": "json_schema", "name": "answer", "schema": okSchema, "strict": true}
		whole, text := responseText(t, f, map[string]any{"text": map[string]any{"format": format}})
		wantOK(t, text)
		echoed, _ := json.Marshal(whole["text"])
		if !strings.Contains(string(echoed), `"json_schema"`) || !strings.Contains(string(echoed), `"answer"`) {
			t.Fatalf("the response's text %s does not echo the format", echoed)
		}
	})
	t.Run("text.format json_object", func(t *testing.T) {
		// Any object lets a random model write keys without end: a reply cut by the limit is the start of one.
		_, text, status := responseTextOf(t, f, map[string]any{"text": map[string]any{"format": map[string]any{"type": "json_object"}}})
		var v map[string]any
		if !strings.HasPrefix(text, "{") || (status == responseCompleted && json.Unmarshal([]byte(text), &v) != nil) {
			t.Fatalf("reply %q (%s) is not a JSON object", text, status)
		}
	})
	t.Run("json_schema", func(t *testing.T) {
		_, text := responseText(t, f, map[string]any{"json_schema": okSchema})
		wantOK(t, text)
	})
	t.Run("grammar", func(t *testing.T) {
		_, text := responseText(t, f, map[string]any{"grammar": `root ::= "yes" | "no"`})
		if text != "yes" && text != "no" {
			t.Fatalf("reply %q, want yes or no", text)
		}
	})
}

// TestResponsesRefusesConflictingOrMalformedFormats: text.format beside another constraint, an unknown
// type or a schema that is not one gets 400 naming the field.
func TestResponsesRefusesConflictingOrMalformedFormats(t *testing.T) {
	f := runnerFor(t, false)
	for _, c := range []struct {
		name   string
		format any
		extra  map[string]any
		want   string
	}{
		{"beside response_format", map[string]any{"type": "json_object"},
			map[string]any{"response_format": map[string]any{"type": "json_object"}}, `"text.format"`},
		{"beside grammar", map[string]any{"type": "json_object"}, map[string]any{"grammar": `root ::= "x"`}, `"text.format"`},
		{"unknown type", map[string]any{"type": "yaml"}, nil, `"text.format.type"`},
		{"schema not an object", map[string]any{"type": "json_schema", "schema": "object"}, nil, `"text.format.schema"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"input": "hi", "max_output_tokens": 2, "text": map[string]any{"format": c.format}}
			for k, v := range c.extra {
				body[k] = v
			}
			status, raw := f.post(t, "/v1/responses", body)
			msg, typ := errorOf(t, raw)
			if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, c.want) {
				t.Fatalf("status %d, %s %q; want 400 naming %s", status, typ, msg, c.want)
			}
		})
	}
}

// TestResponsesTextFormatBesideToolsIsRefused: text.format with tools gets 400 naming it, as chat's
// constraints do unless tool_choice is none, since the tool-call format would decide the output too.
func TestResponsesTextFormatBesideToolsIsRefused(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	tools := []any{map[string]any{"type": "function", "name": "get_weather", "parameters": map[string]any{"type": "object"}}}
	jsonText := map[string]any{"format": map[string]any{"type": "json_object"}}
	status, raw := f.post(t, "/v1/responses", map[string]any{"input": "hi", "max_output_tokens": 2, "tools": tools, "text": jsonText})
	msg, typ := errorOf(t, raw)
	if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, `"text.format"`) {
		t.Fatalf("status %d, %s %q; want 400 naming text.format", status, typ, msg)
	}
	var r responseObject
	f.postOK(t, "/v1/responses", map[string]any{"input": "hi", "max_output_tokens": 2, "tools": tools, "tool_choice": "none", "text": jsonText}, &r)
}
