package runner

import (
	"encoding/json"
	"testing"
)

// TestFieldTableIsConsistent: one row per name and endpoint, every neutral-only field says what its
// neutral value is.
func TestFieldTableIsConsistent(t *testing.T) {
	seen := map[string]endpoint{}
	for _, f := range fieldTable {
		if seen[f.name]&f.endpoints != 0 {
			t.Errorf("field %q has two rows for one endpoint", f.name)
		}
		seen[f.name] |= f.endpoints
		if f.endpoints == 0 {
			t.Errorf("field %q applies to no endpoint", f.name)
		}
		if (f.support == neutralOnly) != (f.neutral != nil) {
			t.Errorf("field %q: a neutral value test belongs to neutral-only fields, and every one needs it", f.name)
		}
	}
	for _, other := range []string{"grammar", "json_schema", "response_format", "tools", "tool_choice",
		"parallel_tool_calls", "chat_template_kwargs"} {
		if seen[other] != 0 {
			t.Errorf("field %q is decided where it is implemented, not in this table", other)
		}
	}
}

// TestDocumentedUnsupportedFieldsAreRefusedByName: a documented field the runner does not honour is a 400
// naming it, on every generation endpoint.
func TestDocumentedUnsupportedFieldsAreRefusedByName(t *testing.T) {
	f := runnerFor(t, false)
	refused := map[string]any{
		"n_keep":                     5,
		"reasoning_budget_start_tag": "<think>",
	}
	chatOnly := map[string]any{
		"store":              true,
		"web_search_options": map[string]any{},
		"audio":              map[string]any{"voice": "alloy", "format": "wav"},
		"modalities":         []string{"text", "audio"},
		"prediction":         map[string]any{"type": "content", "content": "x"},
	}
	for name, value := range refused {
		want := `"` + name + `" is not supported`
		// A token limit keeps a wrongly accepted request short.
		f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{name: value, "max_tokens": 1}), want)
		f.expectRefusal(t, "/v1/completions", map[string]any{"prompt": "hi", name: value, "max_tokens": 1}, want)
		f.expectRefusal(t, "/completion", map[string]any{"prompt": "hi", name: value, "n_predict": 1}, want)
	}
	for name, value := range chatOnly {
		f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{name: value, "max_tokens": 1}),
			`"`+name+`" is not supported`)
	}
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "hi", "echo": true}, `"echo" is not supported`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "hi", "stream": true, "n_predict": 1,
		"stream_options": map[string]any{"include_usage": true}}, `"stream_options.include_usage" is not supported`)
	f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{"stream": true,
		"stream_options": map[string]any{"include_obfuscation": true}}), `"stream_options.include_obfuscation" is not supported`)
}

// TestNeutralAndUnknownFieldsAreAccepted: documented fields sent with their default value, null values,
// user ids and fields no documentation knows (SDKs send extras) all pass.
func TestNeutralAndUnknownFieldsAreAccepted(t *testing.T) {
	f := runnerFor(t, false)
	extra := map[string]any{
		"max_tokens": 2, "mirostat": 0, "typical_p": 1.0, "dry_multiplier": 0, "dry_base": 1.75, "n_keep": 0,
		"lora": []any{}, "store": false, "metadata": map[string]any{}, "modalities": []string{"text"},
		"service_tier": "auto", "user": "user-1234", "samplers": nil, "audio": nil, "echo": false,
		"timings_per_token": false, "return_progress": false, "n_indent": 0, "adaptive_target": -1,
		"an_sdk_extra_field": map[string]any{"anything": true}, "stream_options": map[string]any{"include_usage": false},
	}
	var r chatReply
	f.postOK(t, "/v1/chat/completions", chatBody("hi", extra), &r)
	var c json.RawMessage
	f.postOK(t, "/v1/completions", map[string]any{"prompt": "hi", "max_tokens": 2, "best_of": 1, "suffix": "",
		"user": "u", "logit_bias": map[string]any{}, "unknown": 1}, &c)
	runnerFor(t, true).postOK(t, "/v1/embeddings", map[string]any{"input": "x", "user": "u", "encoding_format": "float", "unknown": 1}, &c)
}
