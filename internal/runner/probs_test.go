package runner

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// chatTokenLogprob is one entry of OpenAI's choices[].logprobs.content.
type chatTokenLogprob struct {
	Token       string  `json:"token"`
	Logprob     float64 `json:"logprob"`
	RawBytes    []int   `json:"bytes"`
	TopLogprobs []struct {
		Token   string  `json:"token"`
		Logprob float64 `json:"logprob"`
		Bytes   []int   `json:"bytes"`
	} `json:"top_logprobs"`
}

func joinBytes(entries []chatTokenLogprob) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		for _, x := range e.RawBytes {
			b.WriteByte(byte(x))
		}
	}
	return b.Bytes()
}

// checkTopOrdered requires a greedy token's entry to be its own most likely alternative, the alternatives in
// descending order, and log-probabilities that are probabilities' logs.
func checkTopOrdered(t *testing.T, i int, e chatTokenLogprob, n int) {
	t.Helper()
	if len(e.TopLogprobs) != n {
		t.Fatalf("token %d: %d top_logprobs, want %d", i, len(e.TopLogprobs), n)
	}
	if e.Logprob > 0 || e.TopLogprobs[0].Token != e.Token || e.TopLogprobs[0].Logprob != e.Logprob {
		t.Fatalf("token %d: greedy token %q (%v) is not its own first alternative %+v", i, e.Token, e.Logprob, e.TopLogprobs[0])
	}
	var mass float64
	for j, alt := range e.TopLogprobs {
		if j > 0 && alt.Logprob > e.TopLogprobs[j-1].Logprob {
			t.Fatalf("token %d: top_logprobs not in descending order: %+v", i, e.TopLogprobs)
		}
		mass += math.Exp(alt.Logprob)
	}
	if mass > 1+1e-4 {
		t.Fatalf("token %d: the top alternatives' probabilities add up to %v > 1", i, mass)
	}
}

// TestChatLogprobsDescribeEveryToken asks a greedy chat for logprobs with 3 alternatives: one entry per
// generated token, whose bytes join to the reply, each the first of its descending alternatives.
func TestChatLogprobsDescribeEveryToken(t *testing.T) {
	f := runnerFor(t, false)
	var r struct {
		Choices []struct {
			Message  struct{ Content string } `json:"message"`
			Logprobs struct {
				Content []chatTokenLogprob `json:"content"`
			} `json:"logprobs"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	f.postOK(t, "/v1/chat/completions", chatBody("probabilities", map[string]any{"logprobs": true, "top_logprobs": 3,
		"temperature": 0, "max_tokens": 12, "ignore_eos": true}), &r)
	content := r.Choices[0].Logprobs.Content
	if len(content) != r.Usage.CompletionTokens {
		t.Fatalf("%d logprobs entries for %d tokens", len(content), r.Usage.CompletionTokens)
	}
	if got := joinBytes(content); string(got) != r.Choices[0].Message.Content {
		t.Fatalf("the entries' bytes join to %q, the reply is %q", got, r.Choices[0].Message.Content)
	}
	for i, e := range content {
		checkTopOrdered(t, i, e, 3)
	}
}

// TestChatLogprobsStreamWithTheirText streams the same request: each chunk's logprobs cover its text.
func TestChatLogprobsStreamWithTheirText(t *testing.T) {
	f := runnerFor(t, false)
	events, _ := f.streamEvents(t, "/v1/chat/completions", chatBody("probabilities", map[string]any{"logprobs": true,
		"top_logprobs": 2, "temperature": 0, "max_tokens": 12, "ignore_eos": true}))
	entries := 0
	for _, ev := range events {
		var c struct {
			Choices []struct {
				Delta    struct{ Content string } `json:"delta"`
				Logprobs *struct {
					Content []chatTokenLogprob `json:"content"`
				} `json:"logprobs"`
			} `json:"choices"`
		}
		mustJSON(t, ev, &c)
		if len(c.Choices) == 0 || c.Choices[0].Delta.Content == "" {
			continue
		}
		lp := c.Choices[0].Logprobs
		if lp == nil || len(lp.Content) == 0 {
			t.Fatalf("chunk with text and no logprobs: %s", ev)
		}
		if got := joinBytes(lp.Content); string(got) != c.Choices[0].Delta.Content {
			t.Fatalf("chunk text %q, its logprobs' bytes %q", c.Choices[0].Delta.Content, got)
		}
		for i, e := range lp.Content {
			checkTopOrdered(t, i, e, 2)
		}
		entries += len(lp.Content)
	}
	if entries != 12 {
		t.Fatalf("%d logprobs entries streamed for 12 tokens", entries)
	}
}

// TestTopLogprobsNeedLogprobs: like llama-server and OpenAI, top_logprobs without logprobs is a 400, and
// out-of-range values are refused.
func TestTopLogprobsNeedLogprobs(t *testing.T) {
	f := runnerFor(t, false)
	f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{"top_logprobs": 2}), `"top_logprobs"`)
	f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{"logprobs": true, "top_logprobs": 21}), `"top_logprobs"`)
	f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{"logprobs": 3}), `"logprobs"`)
	f.expectRefusal(t, "/v1/completions", map[string]any{"prompt": "hi", "logprobs": true}, `"logprobs"`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "hi", "n_probs": -1}, `"n_probs"`)
	f.expectRefusal(t, "/completion", map[string]any{"prompt": "hi", "n_probs": maxNProbs + 1}, `"n_probs"`)
}

// TestCompletionsLegacyLogprobs checks OpenAI's /v1/completions shape: parallel arrays, one entry per token,
// offsets counted from the prompt's start.
func TestCompletionsLegacyLogprobs(t *testing.T) {
	f := runnerFor(t, false)
	prompt := "Once upon a time"
	var r struct {
		Choices []struct {
			Text     string `json:"text"`
			Logprobs struct {
				Tokens        []string             `json:"tokens"`
				TokenLogprobs []float64            `json:"token_logprobs"`
				TopLogprobs   []map[string]float64 `json:"top_logprobs"`
				TextOffset    []int                `json:"text_offset"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	f.postOK(t, "/v1/completions", map[string]any{"prompt": prompt, "logprobs": 2, "temperature": 0, "max_tokens": 10,
		"ignore_eos": true}, &r)
	lp := r.Choices[0].Logprobs
	if len(lp.Tokens) != 10 || len(lp.TokenLogprobs) != 10 || len(lp.TopLogprobs) != 10 || len(lp.TextOffset) != 10 {
		t.Fatalf("logprobs arrays of lengths %d/%d/%d/%d, want 10 each", len(lp.Tokens), len(lp.TokenLogprobs),
			len(lp.TopLogprobs), len(lp.TextOffset))
	}
	if lp.TextOffset[0] != len(prompt) {
		t.Fatalf("first text_offset %d, want the prompt's length %d", lp.TextOffset[0], len(prompt))
	}
	for i := range lp.Tokens {
		if lp.TokenLogprobs[i] > 0 || len(lp.TopLogprobs[i]) == 0 || len(lp.TopLogprobs[i]) > 2 {
			t.Fatalf("token %d: logprob %v, top %v", i, lp.TokenLogprobs[i], lp.TopLogprobs[i])
		}
		if i > 0 && lp.TextOffset[i] < lp.TextOffset[i-1] {
			t.Fatalf("text_offset goes back: %v", lp.TextOffset)
		}
	}
}

// nativeProb is one entry of llama-server's completion_probabilities, either kind.
type nativeProb struct {
	ID          int      `json:"id"`
	Token       string   `json:"token"`
	Logprob     *float64 `json:"logprob"`
	Prob        *float64 `json:"prob"`
	TopLogprobs []struct {
		ID      int     `json:"id"`
		Logprob float64 `json:"logprob"`
	} `json:"top_logprobs"`
	TopProbs []struct {
		ID   int     `json:"id"`
		Prob float64 `json:"prob"`
	} `json:"top_probs"`
}

// TestNativeProbsCoverTheWholeVocabulary asks for as many alternatives as the vocabulary has: the model's
// distribution must then add up to one, and the sampled token be among them with its own logprob.
func TestNativeProbsCoverTheWholeVocabulary(t *testing.T) {
	f := runnerFor(t, false)
	var models struct {
		Data []struct {
			Meta struct {
				NVocab int `json:"n_vocab"`
			} `json:"meta"`
		} `json:"data"`
	}
	_, body := f.get(t, "/v1/models")
	mustJSON(t, body, &models)
	nVocab := models.Data[0].Meta.NVocab
	if nVocab == 0 {
		t.Fatal("no n_vocab in /v1/models")
	}
	var r struct {
		Probs []nativeProb `json:"completion_probabilities"`
	}
	f.postOK(t, "/completion", map[string]any{"prompt": "Once upon a time", "n_probs": nVocab, "seed": 8,
		"temperature": 1, "n_predict": 4, "ignore_eos": true}, &r)
	if len(r.Probs) != 4 {
		t.Fatalf("%d completion_probabilities for 4 tokens", len(r.Probs))
	}
	for i, p := range r.Probs {
		if p.Logprob == nil || len(p.TopLogprobs) != nVocab {
			t.Fatalf("token %d: logprob %v, %d alternatives, want %d", i, p.Logprob, len(p.TopLogprobs), nVocab)
		}
		var mass float64
		own := math.NaN()
		for _, alt := range p.TopLogprobs {
			mass += math.Exp(alt.Logprob)
			if alt.ID == p.ID {
				own = alt.Logprob
			}
		}
		if math.Abs(mass-1) > 1e-3 {
			t.Fatalf("token %d: the vocabulary's probabilities add up to %v", i, mass)
		}
		if own != *p.Logprob {
			t.Fatalf("token %d: its logprob %v, among the alternatives %v", i, *p.Logprob, own)
		}
	}
}

// TestPostSamplingProbsAreTheChainsProbabilities: with post_sampling_probs the values are probabilities of
// the candidates the chain left (top-k 5 leaves at most 5), and greedy sampling is certain.
func TestPostSamplingProbsAreTheChainsProbabilities(t *testing.T) {
	f := runnerFor(t, false)
	var r struct {
		Probs []nativeProb `json:"completion_probabilities"`
	}
	f.postOK(t, "/completion", map[string]any{"prompt": "Once upon a time", "n_probs": 10, "post_sampling_probs": true,
		"seed": 8, "temperature": 1, "top_k": 5, "n_predict": 6, "ignore_eos": true}, &r)
	if len(r.Probs) != 6 {
		t.Fatalf("%d entries for 6 tokens", len(r.Probs))
	}
	for i, p := range r.Probs {
		if p.Prob == nil || p.Logprob != nil || len(p.TopProbs) == 0 || len(p.TopProbs) > 5 {
			t.Fatalf("token %d: %+v, want prob and 1 to 5 top_probs", i, p)
		}
		var mass float64
		for _, alt := range p.TopProbs {
			mass += alt.Prob
		}
		if math.Abs(mass-1) > 1e-3 || *p.Prob <= 0 || *p.Prob > 1 {
			t.Fatalf("token %d: prob %v, top_probs adding up to %v (want 1 after top-k 5)", i, *p.Prob, mass)
		}
	}
	var greedy struct {
		Probs []nativeProb `json:"completion_probabilities"`
	}
	f.postOK(t, "/completion", map[string]any{"prompt": "Once upon a time", "n_probs": 3, "post_sampling_probs": true,
		"temperature": 0, "n_predict": 3, "ignore_eos": true}, &greedy)
	for i, p := range greedy.Probs {
		if p.Prob == nil || *p.Prob != 1 || len(p.TopProbs) != 1 || p.TopProbs[0].ID != p.ID {
			t.Fatalf("greedy token %d: %+v, want probability 1 alone", i, p)
		}
	}
}

// TestProbsAreNotSentUnlessAsked: without the fields, chat choices carry "logprobs": null and native answers
// no completion_probabilities.
func TestProbsAreNotSentUnlessAsked(t *testing.T) {
	f := runnerFor(t, false)
	_, raw := f.post(t, "/v1/chat/completions", chatBody("hi", map[string]any{"max_tokens": 3}))
	var chat struct {
		Choices []map[string]json.RawMessage `json:"choices"`
	}
	mustJSON(t, raw, &chat)
	if lp, ok := chat.Choices[0]["logprobs"]; !ok || string(lp) != "null" {
		t.Fatalf("chat choice logprobs %q, want null", lp)
	}
	_, raw = f.post(t, "/completion", map[string]any{"prompt": "hi", "n_predict": 3})
	if bytes.Contains(raw, []byte("completion_probabilities")) {
		t.Fatalf("native answer with probabilities nobody asked for: %s", raw)
	}
}

// TestStopStringTokensHaveNoLogprobs: a reply cut by a stop string has the logprobs entries of exactly the
// tokens whose text it shows, the same as the uncut reply's first ones: the tokens that only made up the
// stop string, which is not sent, have none.
func TestStopStringTokensHaveNoLogprobs(t *testing.T) {
	f := runnerFor(t, false)
	type reply struct {
		Choices []struct {
			Message  struct{ Content string } `json:"message"`
			Logprobs struct {
				Content []chatTokenLogprob `json:"content"`
			} `json:"logprobs"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	settings := map[string]any{"logprobs": true, "temperature": 0, "max_tokens": 16, "ignore_eos": true}
	var full reply
	f.postOK(t, "/v1/chat/completions", chatBody("stop here", settings), &full)
	text := full.Choices[0].Message.Content
	if len(text) < 8 {
		t.Fatalf("the greedy reply %q is too short to cut", text)
	}
	stop := text[len(text)/2 : len(text)/2+3]
	settings["stop"] = stop
	var cut reply
	f.postOK(t, "/v1/chat/completions", chatBody("stop here", settings), &cut)
	c := cut.Choices[0]
	entries := c.Logprobs.Content
	if c.FinishReason != finishStop || len(entries) == 0 {
		t.Fatalf("finish %q and %d entries with stop %q in %q", c.FinishReason, len(entries), stop, text)
	}
	joined := joinBytes(entries)
	if !strings.HasPrefix(string(joined), c.Message.Content) || len(joinBytes(entries[:len(entries)-1])) >= len(c.Message.Content) {
		t.Fatalf("entries join to %q for the reply %q: want just the tokens that show it", joined, c.Message.Content)
	}
	for i, e := range entries {
		if e.Token != full.Choices[0].Logprobs.Content[i].Token {
			t.Fatalf("entry %d is %q, the uncut reply's %q", i, e.Token, full.Choices[0].Logprobs.Content[i].Token)
		}
	}
}
