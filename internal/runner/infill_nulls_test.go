package runner

import (
	"net/http"
	"strings"
	"testing"
)

// TestInfillRefusesNullFields: a field of /infill given as null is given, with the wrong type, as
// llama-server reads it (400 for input_extra and a chunk's text or filename; 500 for the code around the
// gap, where the runner answers 400 too). Null is never taken for the field's absence or an empty text.
func TestInfillRefusesNullFields(t *testing.T) {
	f := fimRunner(t)
	for _, c := range []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"input_prefix", map[string]any{"input_prefix": nil, "input_suffix": "b"},
			`"input_prefix" must be a string or an array`},
		{"input_suffix", map[string]any{"input_prefix": "a", "input_suffix": nil},
			`"input_suffix" must be a string or an array`},
		{"an element of input_prefix", map[string]any{"input_prefix": []any{"a", nil}, "input_suffix": "b"},
			`"input_prefix": element 1 is neither a string nor a token id`},
		{"input_extra", map[string]any{"input_prefix": "a", "input_suffix": "b", "input_extra": nil},
			`"input_extra" must be an array of {"filename": string, "text": string}`},
		{"a chunk's text", map[string]any{"input_prefix": "a", "input_suffix": "b",
			"input_extra": []any{map[string]any{"text": nil}}},
			`extra_context chunk must contain a "text" field with a string value`},
		{"a chunk's filename", map[string]any{"input_prefix": "a", "input_suffix": "b",
			"input_extra": []any{map[string]any{"text": "t", "filename": nil}}},
			`extra_context chunk's "filename" field must be a string`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, raw := f.post(t, "/infill", c.body)
			msg, typ := errorOf(t, raw)
			if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, c.msg) {
				t.Fatalf("status %d, %s %q; want 400 with %q", status, typ, msg, c.msg)
			}
		})
	}
}

// TestInfillNullPromptIsNoPrompt: a null prompt is no prompt, as llama-server reads it.
func TestInfillNullPromptIsNoPrompt(t *testing.T) {
	f := fimRunner(t)
	var absent, null infillReply
	f.postOK(t, "/infill", map[string]any{"input_prefix": "a", "input_suffix": "b", "n_predict": 0}, &absent)
	f.postOK(t, "/infill", map[string]any{"input_prefix": "a", "input_suffix": "b", "n_predict": 0, "prompt": nil}, &null)
	if null.Prompt != absent.Prompt {
		t.Fatalf("prompt with a null prompt %q, without one %q", null.Prompt, absent.Prompt)
	}
}
