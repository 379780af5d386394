package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestBadConstraintsAre400NamingTheField(t *testing.T) {
	f := runnerFor(t, false)
	for _, tc := range []struct {
		name, path string
		body       map[string]any
		want       []string
	}{
		{"grammar syntax", "/completion", map[string]any{"prompt": "x", "grammar": `root ::= "yes`},
			[]string{`"grammar"`, "failed to parse grammar"}},
		{"grammar without root", "/v1/completions", map[string]any{"prompt": "x", "grammar": `answer ::= "yes"`},
			[]string{`"grammar"`, "'root'"}},
		{"grammar left recursion", "/v1/chat/completions", chatBody("x", map[string]any{"grammar": `root ::= root "a" | "b"`}),
			[]string{`"grammar"`, "left recursion"}},
		{"grammar not a string", "/completion", map[string]any{"prompt": "x", "grammar": 5},
			[]string{`"grammar"`, "GBNF"}},
		{"grammar too deep", "/completion", map[string]any{"prompt": "x",
			"grammar": "root ::= " + strings.Repeat("(", 500) + `"a"` + strings.Repeat(")", 500)},
			[]string{`"grammar"`, "nested"}},
		{"grammar repetition reversed", "/completion", map[string]any{"prompt": "x", "grammar": `root ::= "a"{6,2}`},
			[]string{`"grammar"`, "maximum below its minimum"}},
		{"schema keyword", "/completion", map[string]any{"prompt": "x",
			"json_schema": json.RawMessage(`{"type":"array","uniqueItems":true}`)},
			[]string{`"json_schema"`, `"uniqueItems"`, "#"}},
		{"schema not an object", "/completion", map[string]any{"prompt": "x", "json_schema": "object"},
			[]string{`"json_schema"`}},
		{"grammar and json_schema", "/completion", map[string]any{"prompt": "x", "grammar": `root ::= "a"`,
			"json_schema": json.RawMessage(`{"type":"string"}`)},
			[]string{`"grammar"`, `"json_schema"`}},
		{"grammar and response_format", "/v1/chat/completions", chatBody("x", map[string]any{"grammar": `root ::= "a"`,
			"response_format": map[string]any{"type": "json_object"}}),
			[]string{`"grammar"`, `"response_format"`}},
		{"response_format type", "/v1/chat/completions", chatBody("x", map[string]any{
			"response_format": map[string]any{"type": "xml"}}),
			[]string{`"response_format.type"`, `"xml"`}},
		{"response_format shape", "/v1/chat/completions", chatBody("x", map[string]any{"response_format": "json"}),
			[]string{`"response_format"`}},
		{"response_format schema", "/v1/chat/completions", chatBody("x", map[string]any{
			"response_format": map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "n",
				"schema": json.RawMessage(`{"type":"object","properties":{"a":{"not":{}}}}`)}}}),
			[]string{`"response_format.json_schema.schema"`, `"not"`, "#/properties/a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.post(t, tc.path, tc.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", status, body)
			}
			var e struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
					Code    int    `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Type != typeInvalidRequest || e.Error.Code != 400 {
				t.Fatalf("not an invalid_request_error: %s", body)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Error.Message, w) {
					t.Errorf("message %q does not contain %s", e.Error.Message, w)
				}
			}
		})
	}
}

func TestTextResponseFormatAndEmptyGrammarDoNotConstrain(t *testing.T) {
	f := runnerFor(t, false)
	plain := map[string]any{"prompt": "Once upon", "seed": 3, "n_predict": 16, "ignore_eos": true}
	var want nativeReply
	f.postOK(t, "/completion", plain, &want)
	for name, extra := range map[string]map[string]any{
		"text":         {"response_format": map[string]any{"type": "text"}},
		"empty":        {"grammar": ""},
		"null schema":  {"json_schema": nil},
		"null grammar": {"grammar": nil},
	} {
		body := map[string]any{}
		for k, v := range plain {
			body[k] = v
		}
		for k, v := range extra {
			body[k] = v
		}
		var got nativeReply
		f.postOK(t, "/completion", body, &got)
		if got.Content != want.Content {
			t.Errorf("%s: %q, want the unconstrained %q", name, got.Content, want.Content)
		}
	}
}
