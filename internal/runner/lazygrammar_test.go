package runner

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// On /completion a client's grammar_lazy holds its grammar back until a trigger, as llama-server does: a
// reply that never writes the trigger is the free reply of the same seed, and generation_settings reports
// the lazy grammar, its triggers (a word that is one token as a token trigger) and the preserved tokens.
func TestCompletionLazyGrammar(t *testing.T) {
	f := runnerFor(t, false)
	var start struct{ Tokens []int }
	f.postOK(t, "/tokenize", map[string]any{"content": "<|im_start|>"}, &start)
	if len(start.Tokens) != 1 {
		t.Fatalf("<|im_start|> is the tokens %v, want one", start.Tokens)
	}
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"prompt": "Answer:", "seed": 3, "temperature": 1.0, "n_predict": 12}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	var free, strict, lazy struct {
		Content  string
		Settings map[string]json.RawMessage `json:"generation_settings"`
	}
	gbnf := `root ::= "<q>" [0-9]+`
	f.postOK(t, "/completion", body(nil), &free)
	f.postOK(t, "/completion", body(map[string]any{"grammar": gbnf}), &strict)
	f.postOK(t, "/completion", body(map[string]any{"grammar": gbnf, "grammar_lazy": true,
		"preserved_tokens": []string{"<|im_start|>"},
		"grammar_triggers": []map[string]any{{"type": 1, "value": "<q>"}, {"type": 1, "value": "<|im_start|>"}}}), &lazy)
	if !strings.HasPrefix(strict.Content, "<q>") || lazy.Content != free.Content || strings.Contains(lazy.Content, "<q>") {
		t.Fatalf("free %q, under the grammar %q, under the lazy grammar %q: want the free reply", free.Content, strict.Content, lazy.Content)
	}
	var triggers []map[string]any
	var preserved []int
	if err := json.Unmarshal(lazy.Settings["grammar_triggers"], &triggers); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lazy.Settings["preserved_tokens"], &preserved); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"type": 1.0, "value": "<q>"}, {"type": 0.0, "value": "<|im_start|>", "token": float64(start.Tokens[0])}}
	if string(lazy.Settings["grammar_lazy"]) != "true" || !reflect.DeepEqual(triggers, want) || !reflect.DeepEqual(preserved, start.Tokens) {
		t.Errorf("generation_settings: grammar_lazy %s, grammar_triggers %v, preserved_tokens %v", lazy.Settings["grammar_lazy"], triggers, preserved)
	}
}

// Lazy-grammar fields llama-server refuses, and trigger patterns, which the runner does not take, get 400
// naming the field. A lazy grammar without grammar_triggers never applies, as in llama-server.
func TestCompletionLazyGrammarRefusals(t *testing.T) {
	f := runnerFor(t, false)
	for name, extra := range map[string]map[string]any{
		"lazy with no triggers":          {"grammar_lazy": true, "grammar_triggers": []any{}},
		"a pattern":                      {"grammar_lazy": true, "grammar_triggers": []map[string]any{{"type": 2, "value": "x.*"}}},
		"a one-token word not preserved": {"grammar_lazy": true, "grammar_triggers": []map[string]any{{"type": 1, "value": "<|im_start|>"}}},
		"a token trigger without its id": {"grammar_lazy": true, "grammar_triggers": []map[string]any{{"type": 0, "value": "x"}}},
		"a malformed trigger":            {"grammar_triggers": []any{"x"}},
	} {
		body := map[string]any{"prompt": "x", "n_predict": 2, "grammar": `root ::= "a"`}
		for k, v := range extra {
			body[k] = v
		}
		code, raw := f.post(t, "/completion", body)
		if msg, _ := errorOf(t, raw); code != 400 || !strings.Contains(msg, "grammar_") {
			t.Errorf("%s: %d %s", name, code, raw)
		}
	}
	var never nativeReply
	f.postOK(t, "/completion", map[string]any{"prompt": "x", "n_predict": 4, "seed": 1, "grammar": `root ::= "a"`, "grammar_lazy": true}, &never)
	if never.Content == "a" {
		t.Errorf("a lazy grammar without triggers applied: %q", never.Content)
	}
}

// /infill reads the lazy-grammar fields as /completion does, as llama-server does: a grammar held back
// until a trigger that never comes leaves the free infill of the same seed.
func TestInfillLazyGrammar(t *testing.T) {
	f := fimRunner(t)
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"input_prefix": "def add(a, b):\n    ", "input_suffix": "\n", "seed": 3, "temperature": 1.0, "n_predict": 12}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	var free, strict, lazy struct{ Content string }
	gbnf := `root ::= "<q>" [0-9]+`
	f.postOK(t, "/infill", body(nil), &free)
	f.postOK(t, "/infill", body(map[string]any{"grammar": gbnf}), &strict)
	f.postOK(t, "/infill", body(map[string]any{"grammar": gbnf, "grammar_lazy": true,
		"grammar_triggers": []map[string]any{{"type": 1, "value": "<q>"}}}), &lazy)
	if !strings.HasPrefix(strict.Content, "<q>") || lazy.Content != free.Content {
		t.Fatalf("free %q, under the grammar %q, under the lazy grammar %q: want the free infill", free.Content, strict.Content, lazy.Content)
	}
	f.expectRefusal(t, "/infill", body(map[string]any{"grammar": gbnf, "grammar_lazy": true, "grammar_triggers": []any{}}), "grammar_triggers")
}
