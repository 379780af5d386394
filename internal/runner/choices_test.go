package runner

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// choicesReply is the part of a chat completion with several choices the tests read.
type choicesReply struct {
	Choices []struct {
		Index        int                            `json:"index"`
		Message      struct{ Role, Content string } `json:"message"`
		FinishReason string                         `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Timings struct {
		PromptN    int `json:"prompt_n"`
		PredictedN int `json:"predicted_n"`
	} `json:"timings"`
}

// TestChoicesShareOnePromptEvaluation asks for three seeded choices: they come indexed 0..2, each with its
// own finish reason, differ from each other, repeat with the same seed, and the prompt is evaluated and
// counted once.
func TestChoicesShareOnePromptEvaluation(t *testing.T) {
	f := runnerFor(t, false)
	body := chatBody("Tell me three different stories", map[string]any{"n": 3, "seed": 4321, "temperature": 1.5,
		"max_tokens": 24, "ignore_eos": true, "cache_prompt": false})
	var first, second choicesReply
	f.postOK(t, "/v1/chat/completions", body, &first)
	f.postOK(t, "/v1/chat/completions", body, &second)
	if len(first.Choices) != 3 {
		t.Fatalf("%d choices, want 3", len(first.Choices))
	}
	seen := map[string]int{}
	completion := 0
	for i, c := range first.Choices {
		if c.Index != i || c.FinishReason != finishLength || c.Message.Role != "assistant" || c.Message.Content == "" {
			t.Fatalf("choice %d: %+v", i, c)
		}
		if j, dup := seen[c.Message.Content]; dup {
			t.Fatalf("choices %d and %d have the same text %q: each choice must sample with its own seed", j, i, c.Message.Content)
		}
		seen[c.Message.Content] = i
		if c.Message.Content != second.Choices[i].Message.Content {
			t.Fatalf("choice %d differs between two requests with the same seed:\n%q\n%q", i, c.Message.Content, second.Choices[i].Message.Content)
		}
		completion += 24
	}
	u := first.Usage
	if u.CompletionTokens != completion || u.TotalTokens != u.PromptTokens+completion {
		t.Fatalf("usage %+v, want %d completion tokens (24 per choice) and the prompt once", u, completion)
	}
	if first.Timings.PromptN != u.PromptTokens {
		t.Fatalf("prompt evaluated over %d tokens for a %d-token prompt: it must be evaluated once for all choices",
			first.Timings.PromptN, u.PromptTokens)
	}
}

// TestChoicesStreamByIndex streams two choices: every chunk names its choice, each choice's text is whole,
// and each ends with its own finish chunk.
func TestChoicesStreamByIndex(t *testing.T) {
	f := runnerFor(t, false)
	settings := map[string]any{"n": 2, "seed": 77, "temperature": 1.2, "max_tokens": 16, "ignore_eos": true}
	var whole choicesReply
	f.postOK(t, "/v1/chat/completions", chatBody("two streams", settings), &whole)
	events, done := f.streamEvents(t, "/v1/chat/completions", chatBody("two streams", settings))
	if !done {
		t.Fatal("no [DONE] marker")
	}
	texts := make([]strings.Builder, 2)
	finishes := make([]string, 2)
	for _, ev := range events {
		var c struct {
			Choices []struct {
				Index        int                      `json:"index"`
				Delta        struct{ Content string } `json:"delta"`
				FinishReason *string                  `json:"finish_reason"`
			} `json:"choices"`
		}
		mustJSON(t, ev, &c)
		if len(c.Choices) != 1 || c.Choices[0].Index < 0 || c.Choices[0].Index > 1 {
			t.Fatalf("chunk %s: want one choice of index 0 or 1", ev)
		}
		ch := c.Choices[0]
		texts[ch.Index].WriteString(ch.Delta.Content)
		if ch.FinishReason != nil {
			finishes[ch.Index] = *ch.FinishReason
		}
	}
	for i := range 2 {
		if texts[i].String() != whole.Choices[i].Message.Content || finishes[i] != finishLength {
			t.Fatalf("choice %d streamed %q (finish %q), whole %q", i, texts[i].String(), finishes[i], whole.Choices[i].Message.Content)
		}
	}
}

// TestChoicesOnCompletionsAndNative checks n on /v1/completions (indexed choices) and n_cmpl on /completion
// (an array of results, as llama-server answers).
func TestChoicesOnCompletionsAndNative(t *testing.T) {
	f := runnerFor(t, false)
	var cmpl struct {
		Choices []struct {
			Index        int    `json:"index"`
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	f.postOK(t, "/v1/completions", map[string]any{"prompt": "Once upon a time", "n": 2, "seed": 3, "temperature": 1.3,
		"max_tokens": 10, "ignore_eos": true}, &cmpl)
	if len(cmpl.Choices) != 2 || cmpl.Choices[0].Index != 0 || cmpl.Choices[1].Index != 1 ||
		cmpl.Choices[0].Text == cmpl.Choices[1].Text {
		t.Fatalf("/v1/completions choices %+v", cmpl.Choices)
	}
	var native []struct {
		Index           int    `json:"index"`
		Content         string `json:"content"`
		Stop            bool   `json:"stop"`
		TokensPredicted int    `json:"tokens_predicted"`
		IDSlot          int    `json:"id_slot"`
	}
	f.postOK(t, "/completion", map[string]any{"prompt": "Once upon a time", "n_cmpl": 3, "seed": 3, "temperature": 1.3,
		"n_predict": 10, "ignore_eos": true}, &native)
	slots := map[int]bool{}
	for i, r := range native {
		if r.Index != i || !r.Stop || r.TokensPredicted != 10 || slots[r.IDSlot] {
			t.Fatalf("/completion result %d: %+v (each choice on its own slot)", i, r)
		}
		slots[r.IDSlot] = true
	}
	if len(native) != 3 {
		t.Fatalf("/completion gave %d results, want 3", len(native))
	}
}

// TestChoicesBeyondTheSlotsAreRefused: every choice needs a slot of its own, so n above -np is a 400 naming n.
func TestChoicesBeyondTheSlotsAreRefused(t *testing.T) {
	f := runnerFor(t, false)
	for _, c := range []struct {
		path string
		body map[string]any
		name string
	}{
		{"/v1/chat/completions", chatBody("hi", map[string]any{"n": testParallel + 1}), `"n"`},
		{"/v1/completions", map[string]any{"prompt": "hi", "n": 0}, `"n"`},
		{"/completion", map[string]any{"prompt": "hi", "n_cmpl": -2}, `"n_cmpl"`},
	} {
		f.expectRefusal(t, c.path, c.body, c.name)
	}
}

// TestChoicesWaitForEnoughFreeSlots sends a request for every slot while another request holds one: it
// must wait for the slot, not fail or run short of choices.
func TestChoicesWaitForEnoughFreeSlots(t *testing.T) {
	f := runnerFor(t, false)
	long := make(chan error, 1)
	go func() {
		b, _ := json.Marshal(map[string]any{"prompt": "hold a slot", "n_predict": 1500, "ignore_eos": true})
		resp, err := testClient.Post(f.base+"/completion", "application/json", strings.NewReader(string(b)))
		if err == nil {
			resp.Body.Close()
		}
		long <- err
	}()
	deadline := time.Now().Add(waitLimit)
	for !anyProcessing(f.slots(t)) {
		if time.Now().After(deadline) {
			t.Fatalf("the long request held no slot within %v", waitLimit)
		}
		time.Sleep(time.Millisecond)
	}
	var r choicesReply
	f.postOK(t, "/v1/chat/completions", chatBody("all slots", map[string]any{"n": testParallel, "max_tokens": 4,
		"ignore_eos": true, "seed": 1}), &r)
	if len(r.Choices) != testParallel {
		t.Fatalf("%d choices, want %d", len(r.Choices), testParallel)
	}
	if err := <-long; err != nil {
		t.Fatal(err)
	}
}

func anyProcessing(slots []slotSnapshot) bool {
	for _, s := range slots {
		if s.IsProcessing {
			return true
		}
	}
	return false
}

// TestBestOfReturnsTheLikeliestChoices: best_of 3 with n 1 answers the one of the three choices (the same
// the request with n 3 and that seed generates) whose tokens have the highest mean log-probability, counts
// the tokens of all three, and shows no logprobs it was not asked for.
func TestBestOfReturnsTheLikeliestChoices(t *testing.T) {
	f := runnerFor(t, false)
	base := func() map[string]any {
		return map[string]any{"prompt": "Pick the best", "seed": 21, "temperature": 1.4, "max_tokens": 12, "ignore_eos": true}
	}
	all := base()
	all["n"], all["logprobs"] = 3, 0
	var three struct {
		Choices []struct {
			Text     string `json:"text"`
			Logprobs struct {
				TokenLogprobs []float64 `json:"token_logprobs"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	f.postOK(t, "/v1/completions", all, &three)
	best, bestMean, bestIndex := "", math.Inf(-1), 0
	for i, c := range three.Choices {
		var sum float64
		for _, lp := range c.Logprobs.TokenLogprobs {
			sum += lp
		}
		if mean := sum / float64(len(c.Logprobs.TokenLogprobs)); mean > bestMean {
			best, bestMean, bestIndex = c.Text, mean, i
		}
	}
	if bestIndex == 0 {
		t.Fatal("with this seed the first choice is the likeliest: choose a seed that tells best_of from taking choice 0")
	}
	one := base()
	one["best_of"] = 3
	var r struct {
		Choices []map[string]any `json:"choices"`
		Usage   tokenUsage       `json:"usage"`
	}
	f.postOK(t, "/v1/completions", one, &r)
	if len(r.Choices) != 1 || r.Choices[0]["text"] != best || r.Choices[0]["index"] != float64(0) {
		t.Fatalf("best_of 3 answered %v, want the likeliest of the three, %q", r.Choices, best)
	}
	if r.Choices[0]["logprobs"] != nil || r.Usage.CompletionTokens != 36 {
		t.Fatalf("logprobs %v (none asked for), %d completion tokens (want 3×12)", r.Choices[0]["logprobs"], r.Usage.CompletionTokens)
	}
	f.expectRefusal(t, "/v1/completions", map[string]any{"prompt": "x", "n": 2, "best_of": 1}, `"best_of"`)
	f.expectRefusal(t, "/v1/completions", map[string]any{"prompt": "x", "best_of": 2, "stream": true}, `"best_of"`)
}

// TestEachNativeChoiceHasItsOwnTimings: with n_cmpl, each result's timings count that choice's tokens and
// time, beside the prompt's figures that all share, as llama-server reports them; not the task's totals.
func TestEachNativeChoiceHasItsOwnTimings(t *testing.T) {
	f := runnerFor(t, false)
	var native []struct {
		TokensPredicted int `json:"tokens_predicted"`
		Timings         struct {
			PromptN     int     `json:"prompt_n"`
			PredictedN  int     `json:"predicted_n"`
			PredictedMS float64 `json:"predicted_ms"`
		} `json:"timings"`
	}
	f.postOK(t, "/completion", map[string]any{"prompt": "Timings of each choice", "n_cmpl": 3, "seed": 3,
		"n_predict": 6, "ignore_eos": true, "cache_prompt": false}, &native)
	if len(native) != 3 {
		t.Fatalf("/completion gave %d results, want 3", len(native))
	}
	for i, r := range native {
		if r.Timings.PredictedN != r.TokensPredicted || r.TokensPredicted != 6 {
			t.Errorf("choice %d: timings.predicted_n %d, tokens_predicted %d; want 6 each", i, r.Timings.PredictedN, r.TokensPredicted)
		}
		if r.Timings.PromptN != native[0].Timings.PromptN || r.Timings.PromptN == 0 {
			t.Errorf("choice %d: prompt_n %d, choice 0's %d; the prompt is evaluated once for all", i, r.Timings.PromptN, native[0].Timings.PromptN)
		}
		if r.Timings.PredictedMS <= 0 {
			t.Errorf("choice %d: predicted_ms %g", i, r.Timings.PredictedMS)
		}
	}
}

// TestTimingsRateCountsDecodeSteps: the generation rates count decode steps, as llama-server's do: a
// choice's first token comes from the prompt's logits, so 5 tokens in 8 ms are 4 steps of 2 ms; two
// choices of 5 tokens each are 8 steps.
func TestTimingsRateCountsDecodeSteps(t *testing.T) {
	res := &result{predicted: 10, predictTime: 8 * time.Millisecond,
		choices: []choiceEnd{{predicted: 5, predictTime: 8 * time.Millisecond}, {predicted: 5, predictTime: 6 * time.Millisecond}}}
	for _, c := range []struct {
		name             string
		res              *result
		perToken, perSec float64
	}{
		{"the task", res, 1, 1000},
		{"choice 0", res.ofChoice(0), 2, 500},
		{"choice 1", res.ofChoice(1), 1.5, 1000 / 1.5},
		{"a stream's running totals", &result{predicted: 3, predictTime: 4 * time.Millisecond}, 2, 500},
	} {
		got := timings(c.res)
		if got["predicted_per_token_ms"] != c.perToken || math.Abs(got["predicted_per_second"].(float64)-c.perSec) > 1e-9 {
			t.Errorf("%s: predicted_per_token_ms %v, predicted_per_second %v; want %v, %v", c.name,
				got["predicted_per_token_ms"], got["predicted_per_second"], c.perToken, c.perSec)
		}
	}
}
