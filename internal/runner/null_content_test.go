package runner

import (
	"net/http"
	"strings"
	"testing"
)

// TestTranslatedEndpointsRefuseNullContent: on /v1/responses and /v1/messages, a message's content or a
// text part's text given as null is refused with 400 naming it, as OpenAI's and Anthropic's APIs refuse
// it, rather than read as an empty text.
func TestTranslatedEndpointsRefuseNullContent(t *testing.T) {
	f := runnerFor(t, false)
	for _, c := range []struct {
		name, path string
		body       map[string]any
		want       string
	}{
		{"responses user content", "/v1/responses/input_tokens",
			map[string]any{"input": []any{map[string]any{"role": "user", "content": nil}}}, `"input[0].content"`},
		{"responses assistant content", "/v1/responses/input_tokens",
			map[string]any{"input": []any{map[string]any{"role": "user", "content": "hi"},
				map[string]any{"type": "message", "role": "assistant", "content": nil}}}, `"input[1].content"`},
		{"responses input_text text", "/v1/responses/input_tokens",
			map[string]any{"input": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "input_text", "text": nil}}}}},
			`"input[0].content[0]"`},
		{"responses output_text text", "/v1/responses/input_tokens",
			map[string]any{"input": []any{map[string]any{"role": "user", "content": "hi"},
				map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "output_text", "text": nil}}}}},
			`"input[1].content[0]"`},
		{"messages content", "/v1/messages/count_tokens",
			map[string]any{"messages": []any{map[string]any{"role": "user", "content": nil}}}, `"messages[0].content"`},
		{"messages text block text", "/v1/messages/count_tokens",
			map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": nil}}}}},
			`"messages[0].content[0]"`},
		{"system text block text", "/v1/messages/count_tokens",
			map[string]any{"system": []any{map[string]any{"type": "text", "text": nil}},
				"messages": []any{map[string]any{"role": "user", "content": "hi"}}}, `"system[0]"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, raw := f.post(t, c.path, c.body)
			msg, typ := errorOf(t, raw)
			if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, c.want) {
				t.Fatalf("status %d, %s %q; want 400 naming %s", status, typ, msg, c.want)
			}
		})
	}
}
