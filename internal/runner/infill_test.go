package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"custos/internal/gguf"
)

// fimModel is the generated model with fill-in-the-middle tokens the infill tests serve. Its training context
// is above the slots', which llama-server would otherwise cap to it.
var fimModel = gguf.GenOptions{Seed: 1, FIMTokens: true, ContextLength: 8192}

// fimRunner serves fimModel with one slot of 4096 tokens and the default batch of 2048, so the extra
// context's budget (slot - batch - 2 × server n_predict) holds every chunk of the tests.
func fimRunner(t *testing.T) *fixture {
	return variantRunner(t, "fim", fimModel, Config{Alias: "fim", CtxSize: 4096, Parallel: 1, Seed: testSeed, NPredict: -1})
}

// infillReply is the part of an /infill answer the tests read.
type infillReply struct {
	nativeReply
	Prompt string `json:"prompt"`
}

func TestInfillWithoutFIMTokensIs501(t *testing.T) {
	f := runnerFor(t, false)
	status, raw := f.post(t, "/infill", map[string]any{"input_prefix": "def f(", "input_suffix": ")"})
	msg, typ := errorOf(t, raw)
	want := "Infill is not supported by this model: prefix token is missing. suffix token is missing. middle token is missing. "
	if status != http.StatusNotImplemented || typ != typeNotSupported || msg != want {
		t.Fatalf("status %d, %s: %q; want llama-server's 501 %q", status, typ, msg, want)
	}
}

func TestInfillPromptLayout(t *testing.T) {
	f := fimRunner(t)
	cases := []struct {
		name   string
		body   map[string]any
		prompt string
	}{
		{"prefix and suffix", map[string]any{"input_prefix": "def f(", "input_suffix": ")\n"},
			"<s><|fim_prefix|>def f(<|fim_suffix|>)\n<|fim_middle|>"},
		{"prompt and extra chunks", map[string]any{"input_prefix": "a", "input_suffix": "b", "prompt": "ok",
			"input_extra": []any{map[string]any{"filename": "x.py", "text": "hello"}, map[string]any{"text": "yes"}}},
			"\n\n--- snippet ---\n\nhello\n\n--- snippet ---\n\nyes<s><|fim_prefix|>aok<|fim_suffix|>b<|fim_middle|>"},
		{"special-token text in the code is plain text", map[string]any{"input_prefix": "<|fim_middle|>", "input_suffix": ""},
			"<s><|fim_prefix|><|fim_middle|><|fim_suffix|><|fim_middle|>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.body["n_predict"] = 4
			c.body["ignore_eos"] = true
			var r infillReply
			f.postOK(t, "/infill", c.body, &r)
			if r.Prompt != c.prompt {
				t.Fatalf("prompt %q, want %q", r.Prompt, c.prompt)
			}
			if !r.Stop || r.TokensPredicted != 4 || r.StopType != stopTypeLimit || r.Content == "" {
				t.Fatalf("reply %+v", r.nativeReply)
			}
		})
	}
	// The special-token text of the code must not be read as the FIM token: it tokenizes into more tokens.
	var plain, special infillReply
	f.postOK(t, "/infill", map[string]any{"input_prefix": "x", "input_suffix": "", "n_predict": 0}, &plain)
	f.postOK(t, "/infill", map[string]any{"input_prefix": "<|fim_middle|>", "input_suffix": "", "n_predict": 0}, &special)
	if special.TokensEvaluated <= plain.TokensEvaluated+1 {
		t.Fatalf("prefix <|fim_middle|> gave a prompt of %d tokens, \"x\" one of %d: the text was read as a special token",
			special.TokensEvaluated, plain.TokensEvaluated)
	}
}

// TestInfillBudgetsPrefixAndSuffixByBatch checks llama-server's budget: the prefix keeps its last 3/4 of a
// batch, the suffix its first quarter less the prompt and two markers.
func TestInfillBudgetsPrefixAndSuffixByBatch(t *testing.T) {
	f := variantRunner(t, "fim-batch16", fimModel, Config{Alias: "fim", CtxSize: 512, Parallel: 1, BatchSize: 16, Seed: testSeed, NPredict: -1})
	prefix := strings.Repeat("0123456789", 3) // digits tokenize one by one
	var r infillReply
	f.postOK(t, "/infill", map[string]any{"input_prefix": prefix, "input_suffix": "9876543210", "prompt": "5", "n_predict": 1}, &r)
	// prefix: the last 12 of 30 digits; suffix: 16/4 - (2 + 1 prompt token) = 1 digit
	want := "<s><|fim_prefix|>" + prefix[18:] + "5<|fim_suffix|>9<|fim_middle|>"
	if r.Prompt != want {
		t.Fatalf("prompt %q, want %q", r.Prompt, want)
	}
}

func TestInfillStreamConcatenatesToTheWholeText(t *testing.T) {
	f := fimRunner(t)
	body := func() map[string]any {
		return map[string]any{"input_prefix": "def f(", "input_suffix": ")", "n_predict": 16, "seed": 9,
			"temperature": 1.0, "ignore_eos": true}
	}
	var whole infillReply
	f.postOK(t, "/infill", body(), &whole)
	events, done := f.streamEvents(t, "/infill", body())
	if done {
		t.Fatal("the native stream sent OpenAI's [DONE]")
	}
	var text strings.Builder
	for i, ev := range events {
		var c infillReply
		if err := json.Unmarshal(ev, &c); err != nil {
			t.Fatal(err)
		}
		text.WriteString(c.Content)
		if last := i == len(events)-1; c.Stop != last {
			t.Fatalf("event %d of %d has stop %v", i, len(events), c.Stop)
		}
	}
	if text.String() != whole.Content {
		t.Fatalf("streamed %q, whole %q with the same seed", text.String(), whole.Content)
	}
}

func TestInfillBadInput(t *testing.T) {
	f := fimRunner(t)
	for _, c := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"input_suffix": ")"}, `"input_prefix" is required`},
		{map[string]any{"input_prefix": "a"}, `"input_suffix" is required`},
		{map[string]any{"input_prefix": 5, "input_suffix": "b"}, `"input_prefix"`},
		{map[string]any{"input_prefix": "a", "input_suffix": "b", "prompt": 5}, `"prompt" must be a string`},
		{map[string]any{"input_prefix": "a", "input_suffix": "b", "input_extra": map[string]any{}},
			`"input_extra" must be an array of {"filename": string, "text": string}`},
		{map[string]any{"input_prefix": "a", "input_suffix": "b", "input_extra": []any{map[string]any{"filename": "x"}}},
			`extra_context chunk must contain a "text" field with a string value`},
		{map[string]any{"input_prefix": "a", "input_suffix": "b", "input_extra": []any{map[string]any{"text": "t", "filename": 3}}},
			`extra_context chunk's "filename" field must be a string`},
	} {
		status, raw := f.post(t, "/infill", c.body)
		msg, typ := errorOf(t, raw)
		if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, c.msg) {
			t.Fatalf("%v: status %d, %s %q; want 400 with %q", c.body, status, typ, msg, c.msg)
		}
	}
}

// TestInfillMatchesLlamaServer sends the same greedy infill to the runner and to the real llama-server on the
// same model: the prompt they build and the text they generate must be the same.
func TestInfillMatchesLlamaServer(t *testing.T) {
	f := fimRunner(t)
	model, err := variantModel("fim", fimModel)
	if err != nil {
		t.Fatal(err)
	}
	ls := realLlamaServer(t, model, "-c", "4096", "-np", "1", "--seed", "7")
	body := func() map[string]any {
		return map[string]any{"input_prefix": "def hello(", "input_suffix": "):\n    return", "prompt": "wor",
			"n_predict": 12, "temperature": 0, "input_extra": []any{map[string]any{"filename": "a.py", "text": "x = 1\n"}}}
	}
	var ours, theirs infillReply
	f.postOK(t, "/infill", body(), &ours)
	ls.postOK(t, "/infill", body(), &theirs)
	if ours.Prompt != theirs.Prompt || ours.TokensEvaluated != theirs.TokensEvaluated {
		t.Fatalf("prompt %q (%d tokens), llama-server %q (%d)", ours.Prompt, ours.TokensEvaluated, theirs.Prompt, theirs.TokensEvaluated)
	}
	if ours.Content != theirs.Content || ours.TokensPredicted != theirs.TokensPredicted {
		t.Fatalf("content %q (%d tokens), llama-server %q (%d)", ours.Content, ours.TokensPredicted, theirs.Content, theirs.TokensPredicted)
	}
}

// TestInfillTakesArraysOfTextAndTokenIDs: input_prefix and input_suffix may mix strings and token ids, as
// llama-server's take them; each string is tokenized alone, without special tokens.
func TestInfillTakesArraysOfTextAndTokenIDs(t *testing.T) {
	f := fimRunner(t)
	var asText, mixed infillReply
	f.postOK(t, "/infill", map[string]any{"input_prefix": "def f(", "input_suffix": ")", "n_predict": 0}, &asText)
	var tokens struct {
		Tokens []int `json:"tokens"`
	}
	f.postOK(t, "/tokenize", map[string]any{"content": "f("}, &tokens)
	prefix := []any{"def "}
	for _, id := range tokens.Tokens {
		prefix = append(prefix, id)
	}
	f.postOK(t, "/infill", map[string]any{"input_prefix": prefix, "input_suffix": []any{")"}, "n_predict": 0}, &mixed)
	if mixed.Prompt != asText.Prompt {
		t.Fatalf("prompt from a mixed array %q, from the text %q", mixed.Prompt, asText.Prompt)
	}
}

func TestInfillRefusesMalformedInputByName(t *testing.T) {
	f := fimRunner(t)
	cases := []struct {
		name string
		body map[string]any
		want string
	}{
		{"prefix of another type", map[string]any{"input_prefix": 3, "input_suffix": ""}, `"input_prefix" must be a string or an array`},
		{"suffix element of another type", map[string]any{"input_prefix": "", "input_suffix": []any{"x", true}}, `"input_suffix": element 1`},
		{"token id outside the vocabulary", map[string]any{"input_prefix": []any{"x", 1 << 30}, "input_suffix": ""}, `"input_prefix": token id 1073741824 at index 1`},
		{"missing suffix", map[string]any{"input_prefix": "x"}, `"input_suffix" is required`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, raw := f.post(t, "/infill", c.body)
			msg, typ := errorOf(t, raw)
			if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, c.want) {
				t.Fatalf("status %d, %s: %q; want 400 naming %q", status, typ, msg, c.want)
			}
		})
	}
}

// TestInfillSuffixFirstMatchesLlamaServer: with --spm-infill both servers put the suffix before the prefix,
// and build the same prompt from mixed arrays.
func TestInfillSuffixFirstMatchesLlamaServer(t *testing.T) {
	f := variantRunner(t, "fim-spm", fimModel, Config{Alias: "fim", CtxSize: 4096, Parallel: 1, Seed: testSeed, NPredict: -1, SPMInfill: true})
	model, err := variantModel("fim-spm", fimModel)
	if err != nil {
		t.Fatal(err)
	}
	ls := realLlamaServer(t, model, "-c", "4096", "-np", "1", "--seed", "7", "--spm-infill")
	body := func() map[string]any {
		return map[string]any{"input_prefix": []any{"def ", 300, "hello("}, "input_suffix": "):\n", "prompt": "x",
			"n_predict": 6, "temperature": 0}
	}
	var ours, theirs infillReply
	f.postOK(t, "/infill", body(), &ours)
	ls.postOK(t, "/infill", body(), &theirs)
	if !strings.HasPrefix(ours.Prompt, "<s><|fim_suffix|>") {
		t.Fatalf("prompt %q does not open with the suffix", ours.Prompt)
	}
	if ours.Prompt != theirs.Prompt || ours.Content != theirs.Content {
		t.Fatalf("prompt %q, content %q; llama-server %q, %q", ours.Prompt, ours.Content, theirs.Prompt, theirs.Content)
	}
}
