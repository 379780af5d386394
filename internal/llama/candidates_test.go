package llama

import (
	"math"
	"slices"
	"testing"
	"unsafe"
)

// TestTokenDataLayoutMatchesLlamaH guards the structs SampleCandidates hands to llama_sampler_apply: a wrong
// layout would corrupt memory silently.
func TestTokenDataLayoutMatchesLlamaH(t *testing.T) {
	if got := unsafe.Sizeof(TokenData{}); got != 12 {
		t.Errorf("TokenData is %d bytes, llama_token_data 12", got)
	}
	var a tokenDataArray
	if got := unsafe.Sizeof(a); got != 32 {
		t.Errorf("tokenDataArray is %d bytes, llama_token_data_array 32", got)
	}
	if off := unsafe.Offsetof(a.selected); off != 16 {
		t.Errorf("selected at offset %d, want 16", off)
	}
	if off := unsafe.Offsetof(a.sorted); off != 24 {
		t.Errorf("sorted at offset %d, want 24", off)
	}
	if got := unsafe.Sizeof(LogitBias{}); got != 8 {
		t.Errorf("LogitBias is %d bytes, llama_logit_bias 8", got)
	}
}

// TestSampleCandidatesPicksWhatSamplePicks runs two identical seeded chains, one through Sample and one
// through SampleCandidates, over the same logits: the tokens must agree and the candidates' probabilities
// must add up to one.
func TestSampleCandidatesPicksWhatSamplePicks(t *testing.T) {
	m, c, last := decodedTestPrompt(t)
	p := SamplerParams{Seed: 99, Temperature: 1.5, TopK: 20, TopP: 0.9}
	plain, withCandidates := NewSampler(m, p), NewSampler(m, p)
	defer plain.Close()
	defer withCandidates.Close()
	for i := range 20 {
		want := plain.Sample(c, last)
		got, left := withCandidates.SampleCandidates(c, last)
		if got != want {
			t.Fatalf("draw %d: SampleCandidates picked %d, Sample %d", i, got, want)
		}
		if len(left) == 0 || len(left) > 20 {
			t.Fatalf("draw %d: %d candidates left after top-k 20", i, len(left))
		}
		var sum float64
		found := false
		for _, cand := range left {
			sum += float64(cand.P)
			found = found || cand.ID == got
		}
		if math.Abs(sum-1) > 1e-3 || !found {
			t.Fatalf("draw %d: candidates' probabilities add up to %v (want 1), sampled token among them: %v", i, sum, found)
		}
	}
}

// TestLogitBiasBansAToken makes the greedy choice impossible with a -Inf bias: the chain must pick another.
func TestLogitBiasBansAToken(t *testing.T) {
	m, c, last := decodedTestPrompt(t)
	greedy := NewSampler(m, SamplerParams{})
	defer greedy.Close()
	top := greedy.Sample(c, last)
	banned := NewSampler(m, SamplerParams{LogitBias: []LogitBias{{Token: top, Bias: float32(math.Inf(-1))}}})
	defer banned.Close()
	if got := banned.Sample(c, last); got == top {
		t.Fatalf("the chain picked token %d despite its -Inf bias", got)
	}
}

// TestSeqCopyAcrossSeparateCaches copies a whole sequence between sequences that do not share a KV buffer
// (no KVUnified), as several choices of one prompt do: the copy must continue exactly like the original.
func TestSeqCopyAcrossSeparateCaches(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 512, NSeqMax: 2})
	prompt := tokens(t, m, testPrompt)
	b := newBatch(t, len(prompt), 2)
	fillPrompt(b, prompt[:len(prompt)-1], 0, 0)
	decode(t, c, b)
	c.SeqCopy(0, 1, -1, -1)
	last := prompt[len(prompt)-1]
	pos := int32(len(prompt) - 1)
	b.Clear()
	b.Add(last, pos, []int32{0}, true)
	b.Add(last, pos, []int32{1}, true)
	decode(t, c, b)
	if got := c.SeqPosMax(1); got != pos {
		t.Fatalf("SeqPosMax(1) = %d after the copy and one token, want %d", got, pos)
	}
	assertClose(t, c.LogitsIth(1), c.LogitsIth(0))
	if !slices.Equal(c.LogitsView(0), c.LogitsIth(0)) {
		t.Fatal("LogitsView(0) differs from LogitsIth(0)")
	}
}
