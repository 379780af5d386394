package runner

import (
	"math"
	"testing"
)

// legacyReply is a /v1/completions answer with OpenAI's legacy logprobs, nulls kept.
type legacyReply struct {
	Choices []struct {
		Text     string `json:"text"`
		Logprobs struct {
			Tokens        []string             `json:"tokens"`
			TokenLogprobs []*float64           `json:"token_logprobs"`
			TopLogprobs   []map[string]float64 `json:"top_logprobs"`
			TextOffset    []int                `json:"text_offset"`
		} `json:"logprobs"`
	} `json:"choices"`
}

// TestEchoPutsThePromptFirst: echo without logprobs returns the prompt followed by the completion.
func TestEchoPutsThePromptFirst(t *testing.T) {
	f := runnerFor(t, false)
	body := map[string]any{"prompt": "Once upon a time", "max_tokens": 6, "temperature": 0, "ignore_eos": true}
	var plain, echoed legacyReply
	f.postOK(t, "/v1/completions", body, &plain)
	body["echo"] = true
	f.postOK(t, "/v1/completions", body, &echoed)
	if want := "Once upon a time" + plain.Choices[0].Text; echoed.Choices[0].Text != want {
		t.Fatalf("echoed text %q, want %q", echoed.Choices[0].Text, want)
	}
}

// TestEchoScoresThePrompt: echo with logprobs and no generated token scores every prompt token (the first,
// which nothing predicts, null), and each score is what the model gives that token after the ones before
// it, as a completion of that shorter prompt reports it.
func TestEchoScoresThePrompt(t *testing.T) {
	f := runnerFor(t, false)
	prompt := []int{1, 300, 301, 400, 512, 600}
	var r legacyReply
	f.postOK(t, "/v1/completions", map[string]any{"prompt": prompt, "echo": true, "logprobs": 1, "max_tokens": 0}, &r)
	lp := r.Choices[0].Logprobs
	if len(lp.Tokens) != len(prompt) || len(lp.TokenLogprobs) != len(prompt) || lp.TokenLogprobs[0] != nil ||
		lp.TextOffset[0] != 0 {
		t.Fatalf("logprobs %+v: want one entry per prompt token, the first null, offsets from 0", lp)
	}
	for k := 1; k < len(prompt); k++ {
		var next struct {
			Probs []nativeProb `json:"completion_probabilities"`
		}
		f.postOK(t, "/completion", map[string]any{"prompt": prompt[:k], "n_predict": 1, "n_probs": maxNProbs,
			"cache_prompt": false}, &next)
		want := math.NaN()
		for _, alt := range next.Probs[0].TopLogprobs {
			if alt.ID == prompt[k] {
				want = alt.Logprob
			}
		}
		if got := lp.TokenLogprobs[k]; got == nil || math.Abs(*got-want) > 1e-3 {
			t.Fatalf("prompt token %d: echo scores it %v, a completion of the first %d tokens gives it %v", k, got, k, want)
		}
	}
}

// TestEchoStreamsThePromptFirst: streamed, the first chunk is the prompt with its tokens' logprobs, and the
// chunks join to the whole echoed answer.
func TestEchoStreamsThePromptFirst(t *testing.T) {
	f := runnerFor(t, false)
	body := func() map[string]any {
		return map[string]any{"prompt": "Once upon a time", "echo": true, "logprobs": 1, "max_tokens": 4,
			"temperature": 0, "ignore_eos": true}
	}
	var whole legacyReply
	f.postOK(t, "/v1/completions", body(), &whole)
	events, _ := f.streamEvents(t, "/v1/completions", body())
	var first legacyReply
	mustJSON(t, events[0], &first)
	if first.Choices[0].Text != "Once upon a time" || len(first.Choices[0].Logprobs.Tokens) == 0 ||
		first.Choices[0].Logprobs.TokenLogprobs[0] != nil {
		t.Fatalf("first chunk %s: want the prompt with its logprobs, the first null", events[0])
	}
	joined := ""
	tokens := 0
	for _, ev := range events {
		var c legacyReply
		mustJSON(t, ev, &c)
		if len(c.Choices) == 1 {
			joined += c.Choices[0].Text
			tokens += len(c.Choices[0].Logprobs.Tokens)
		}
	}
	if joined != whole.Choices[0].Text || tokens != len(whole.Choices[0].Logprobs.Tokens) {
		t.Fatalf("streamed %q with %d logprobs entries, whole %q with %d", joined, tokens, whole.Choices[0].Text,
			len(whole.Choices[0].Logprobs.Tokens))
	}
}
