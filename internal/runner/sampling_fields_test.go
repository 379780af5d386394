package runner

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// nativeTokens is a /completion answer with its generated token ids (return_tokens).
type nativeTokens struct {
	Content string `json:"content"`
	Tokens  []int  `json:"tokens"`
	IDSlot  int    `json:"id_slot"`
	Timings struct {
		CacheN int `json:"cache_n"`
	} `json:"timings"`
}

func greedyTokens(t *testing.T, f *fixture, extra map[string]any) nativeTokens {
	t.Helper()
	body := map[string]any{"prompt": "The logit bias test", "n_predict": 4, "temperature": 0, "ignore_eos": true,
		"return_tokens": true}
	for k, v := range extra {
		body[k] = v
	}
	var r nativeTokens
	f.postOK(t, "/completion", body, &r)
	return r
}

// TestReturnTokensGivesTheGeneratedIDs: return_tokens fills "tokens" with one id per generated token.
func TestReturnTokensGivesTheGeneratedIDs(t *testing.T) {
	f := runnerFor(t, false)
	if r := greedyTokens(t, f, nil); len(r.Tokens) != 4 {
		t.Fatalf("tokens %v for 4 generated tokens", r.Tokens)
	}
}

// TestLogitBiasBansTheGreedyToken bans the greedy first token in each of logit_bias' shapes: the first
// token must change.
func TestLogitBiasBansTheGreedyToken(t *testing.T) {
	f := runnerFor(t, false)
	first := greedyTokens(t, f, nil).Tokens[0]
	for name, bias := range map[string]any{
		"pairs":  [][]any{{first, false}},
		"object": map[string]any{strconv.Itoa(first): -100},
	} {
		got := greedyTokens(t, f, map[string]any{"logit_bias": bias})
		if got.Tokens[0] == first {
			t.Errorf("logit_bias as %s: token %d still came first", name, first)
		}
	}
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "logit_bias": [][]any{{1 << 30, 1}}}, `"logit_bias"`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "logit_bias": [][]any{{1, true}}}, `"logit_bias"`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "logit_bias": "nope"}, `"logit_bias"`)
}

// TestIDSlotPinsTheSlot: id_slot runs the request on that slot; a slot the server does not have is a 400.
func TestIDSlotPinsTheSlot(t *testing.T) {
	f := runnerFor(t, false)
	for _, id := range []int{2, 0, 3} {
		if got := greedyTokens(t, f, map[string]any{"id_slot": id}).IDSlot; got != id {
			t.Fatalf("id_slot %d ran on slot %d", id, got)
		}
	}
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "id_slot": testParallel}, `"id_slot"`)
}

// TestCachePromptFalseEvaluatesTheWholePrompt: the same prompt again reuses its cached prefix, unless
// cache_prompt is false.
func TestCachePromptFalseEvaluatesTheWholePrompt(t *testing.T) {
	f := runnerFor(t, false)
	pin := map[string]any{"id_slot": 1, "prompt": "The cache prompt test, long enough to cache"}
	greedyTokens(t, f, pin)
	if again := greedyTokens(t, f, pin); again.Timings.CacheN == 0 {
		t.Fatal("the same prompt on the same slot reused nothing")
	}
	pin["cache_prompt"] = false
	if fresh := greedyTokens(t, f, pin); fresh.Timings.CacheN != 0 {
		t.Fatalf("cache_prompt false reused %d cached tokens", fresh.Timings.CacheN)
	}
}

// TestFurtherSamplersAreSeededAndRepeatable runs each of llama-server's further samplers twice with one
// seed: each must answer, and repeat itself.
func TestFurtherSamplersAreSeededAndRepeatable(t *testing.T) {
	f := runnerFor(t, false)
	for name, settings := range map[string]map[string]any{
		"mirostat 1":  {"mirostat": 1, "mirostat_tau": 4.0, "mirostat_eta": 0.2},
		"mirostat 2":  {"mirostat": 2},
		"typical_p":   {"typical_p": 0.6, "min_keep": 2},
		"xtc":         {"xtc_probability": 0.9, "xtc_threshold": 0.05},
		"dynatemp":    {"dynatemp_range": 0.5, "dynatemp_exponent": 1.5},
		"top_n_sigma": {"top_n_sigma": 1.0},
		"adaptive_p":  {"samplers": []string{"min_p", "adaptive_p"}, "adaptive_target": 0.3, "adaptive_decay": 0.8},
		"dry":         {"dry_multiplier": 0.8, "dry_base": 1.5, "dry_allowed_length": 1, "dry_sequence_breakers": []string{"\n", "."}},
	} {
		body := map[string]any{"temperature": 1.0, "seed": 11, "return_tokens": true}
		for k, v := range settings {
			body[k] = v
		}
		a, b := greedyTokens(t, f, body), greedyTokens(t, f, body)
		if len(a.Tokens) != 4 || !slices.Equal(a.Tokens, b.Tokens) {
			t.Errorf("%s: %v then %v with one seed", name, a.Tokens, b.Tokens)
		}
	}
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "mirostat": 3}, `"mirostat"`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "adaptive_target": 0.3}, `"adaptive_target" takes effect only with`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "xtc_probability": 2}, `"xtc_probability"`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "dry_sequence_breakers": []string{}}, `"dry_sequence_breakers"`)
}

// TestSamplersOrderTheChain: "samplers" as names or letters builds that chain (a seeded run repeats, and
// an order without temperature samples differently from one with it); an unknown name is refused.
func TestSamplersOrderTheChain(t *testing.T) {
	f := runnerFor(t, false)
	run := func(samplers any) []int {
		return greedyTokens(t, f, map[string]any{"samplers": samplers, "temperature": 0.2, "seed": 5, "n_predict": 16}).Tokens
	}
	names, letters := run([]string{"top_k", "temperature"}), run("kt")
	if !slices.Equal(names, letters) {
		t.Fatalf("samplers [top_k temperature] gave %v, \"kt\" gave %v", names, letters)
	}
	if untempered := run([]string{"top_k"}); slices.Equal(untempered, names) {
		t.Fatalf("dropping temperature 0.2 from the chain changed nothing: %v", names)
	}
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "samplers": []string{"top_k", "infill"}}, `"infill"`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "x", "samplers": "kq"}, `"samplers"`)
}

// TestTimeLimitEndsAtANewLine: with t_max_predict_ms, generation stops at the first new line past the
// limit (a bias makes new lines frequent), with stop type limit.
func TestTimeLimitEndsAtANewLine(t *testing.T) {
	f := runnerFor(t, false)
	var r nativeReply
	f.postOK(t, "/completion", map[string]any{"prompt": "Once upon a time", "n_predict": 1000, "ignore_eos": true,
		"seed": 3, "t_max_predict_ms": 1, "logit_bias": [][]any{{"\n", 3}}}, &r)
	if r.StopType != stopTypeLimit || r.TokensPredicted >= 1000 || !strings.Contains(r.Content, "\n") {
		t.Fatalf("stop type %q after %d tokens, new line in the text: %v", r.StopType, r.TokensPredicted, strings.Contains(r.Content, "\n"))
	}
}

// TestTimingsPerTokenInEveryChunk: with timings_per_token every streamed chunk carries the timings so far.
func TestTimingsPerTokenInEveryChunk(t *testing.T) {
	f := runnerFor(t, false)
	events, _ := f.streamEvents(t, "/completion", map[string]any{"prompt": "timings", "n_predict": 6, "ignore_eos": true,
		"timings_per_token": true})
	for i, ev := range events {
		var c struct {
			Timings *struct {
				PredictedN int `json:"predicted_n"`
			} `json:"timings"`
		}
		mustJSON(t, ev, &c)
		if c.Timings == nil || c.Timings.PredictedN == 0 {
			t.Fatalf("chunk %d has no timings: %s", i, ev)
		}
	}
}

// TestResponseFieldsSelectNativeFields: response_fields keeps the named fields of a /completion answer,
// a nested one under its path, and is refused on the OpenAI endpoints, where it would do nothing.
func TestResponseFieldsSelectNativeFields(t *testing.T) {
	f := runnerFor(t, false)
	var r map[string]any
	f.postOK(t, "/completion", map[string]any{"prompt": "fields", "n_predict": 2, "response_fields": []string{"content",
		"generation_settings/n_predict", "no/such"}}, &r)
	if len(r) != 2 || r["generation_settings/n_predict"] != float64(2) {
		t.Fatalf("answer %v, want content and generation_settings/n_predict only", r)
	}
	if _, ok := r["content"]; !ok {
		t.Fatalf("answer %v without content", r)
	}
	f.expectRefusal(t, "/v1/completions", map[string]any{"prompt": "x", "response_fields": []string{"content"}}, `"response_fields"`)
}

// TestReturnProgressReportsThePrompt: a stream with return_progress starts with prompt_progress chunks,
// the last of which has processed the whole prompt, before any text.
func TestReturnProgressReportsThePrompt(t *testing.T) {
	f := runnerFor(t, false)
	events, _ := f.streamEvents(t, "/completion", map[string]any{"prompt": "progress of a prompt", "n_predict": 3,
		"ignore_eos": true, "return_progress": true, "cache_prompt": false})
	type progress struct{ Total, Cache, Processed int }
	var reports []progress
	for _, ev := range events {
		var c struct {
			Content  string    `json:"content"`
			Progress *progress `json:"prompt_progress"`
		}
		mustJSON(t, ev, &c)
		if c.Progress == nil {
			break
		}
		if c.Content != "" {
			t.Fatalf("progress chunk with text: %s", ev)
		}
		reports = append(reports, *c.Progress)
	}
	if len(reports) < 2 || reports[0].Processed != 0 {
		t.Fatalf("progress reports %+v: want one at 0 and one after the prompt's decode", reports)
	}
	last := reports[len(reports)-1]
	if last.Total == 0 || last.Processed != last.Total {
		t.Fatalf("last progress %+v: the prompt is not wholly processed", last)
	}
}

// TestNIndentEndsAtAShallowLine: with n_indent 4 generation stops at the first line after the first that is
// indented less, and that line is not in the text (a bias makes new lines frequent).
func TestNIndentEndsAtAShallowLine(t *testing.T) {
	f := runnerFor(t, false)
	var r nativeReply
	f.postOK(t, "/completion", map[string]any{"prompt": "def f():", "n_predict": 500, "ignore_eos": true, "seed": 4,
		"n_indent": 4, "logit_bias": [][]any{{"\n", 3}}}, &r)
	if r.StopType != stopTypeLimit || r.TokensPredicted >= 500 || !strings.Contains(r.Content, "\n") {
		t.Fatalf("stop type %q after %d tokens in %q: want the indentation limit", r.StopType, r.TokensPredicted, r.Content)
	}
	lines := strings.Split(r.Content, "\n")
	for i, line := range lines[1 : len(lines)-1] {
		if !strings.HasPrefix(strings.ReplaceAll(line, "\t", " "), "    ") {
			t.Fatalf("line %d %q is indented less than 4 but was sent: %q", i+1, line, r.Content)
		}
	}
	if last := lines[len(lines)-1]; strings.TrimLeft(last, " \t") != "" && !strings.HasPrefix(last, "    ") {
		t.Fatalf("the text ends with the shallow line %q", last)
	}
}
