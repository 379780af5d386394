package llama

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

const testPrompt = "The quick brown fox jumps over the lazy dog"

// tokens tokenizes text with BOS, failing the test on error.
func tokens(t testing.TB, m *Model, text string) []Token {
	t.Helper()
	toks, err := m.Tokenize(text, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

// decode runs Decode, failing the test on error.
func decode(t testing.TB, c *Context, b *Batch) {
	t.Helper()
	if err := c.Decode(b); err != nil {
		t.Fatal(err)
	}
}

// fillPrompt puts prompt into b on seq from position start, asking for logits of the last token only.
func fillPrompt(b *Batch, prompt []Token, seq int32, start int32) {
	for i, tok := range prompt {
		b.Add(tok, start+int32(i), []int32{seq}, i == len(prompt)-1)
	}
}

// generate decodes prompt on sequence 0 of c and samples n tokens with p, one Decode per token, ignoring
// end-of-generation tokens so the length is fixed.
func generate(t testing.TB, m *Model, c *Context, prompt []Token, n int, p SamplerParams) []Token {
	t.Helper()
	b := newBatch(t, len(prompt), 1)
	s := NewSampler(m, p)
	defer s.Close()
	fillPrompt(b, prompt, 0, 0)
	decode(t, c, b)
	var out []Token
	for pos := int32(len(prompt)); len(out) < n; pos++ {
		tok := s.Sample(c, int32(b.Len()-1))
		out = append(out, tok)
		b.Clear()
		b.Add(tok, pos, []int32{0}, true)
		decode(t, c, b)
	}
	return out
}

func TestGreedyDecodeIsDeterministic(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	prompt := tokens(t, m, testPrompt)
	first := generate(t, m, newContext(t, m, ContextParams{NCtx: 256}), prompt, 24, SamplerParams{})
	second := generate(t, m, newContext(t, m, ContextParams{NCtx: 256}), prompt, 24, SamplerParams{})
	if !slices.Equal(first, second) {
		t.Fatalf("greedy runs differ:\n%v\n%v", first, second)
	}
	if len(slices.Compact(slices.Clone(first))) == 1 {
		t.Logf("note: the random model repeats one token: %v", first)
	}
}

func TestSeededSamplingIsDeterministic(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	prompt := tokens(t, m, testPrompt)
	p := SamplerParams{Seed: 1234, Temperature: 1, TopK: 40, TopP: 0.95, MinP: 0.01,
		RepeatPenalty: 1.1, PresencePenalty: 0.1, FrequencyPenalty: 0.1}
	first := generate(t, m, newContext(t, m, ContextParams{NCtx: 256}), prompt, 24, p)
	second := generate(t, m, newContext(t, m, ContextParams{NCtx: 256}), prompt, 24, p)
	if !slices.Equal(first, second) {
		t.Fatalf("runs with seed %d differ:\n%v\n%v", p.Seed, first, second)
	}
}

// TestGreedySamplerPicksTheLargestLogit checks the sampler chain against the logits it samples from.
func TestGreedySamplerPicksTheLargestLogit(t *testing.T) {
	m, c, last := decodedTestPrompt(t)
	logits := c.LogitsIth(last)
	if len(logits) != m.NVocab() {
		t.Fatalf("LogitsIth gave %d values, want one per token (%d)", len(logits), m.NVocab())
	}
	s := NewSampler(m, SamplerParams{})
	defer s.Close()
	got := s.Sample(c, last)
	if want := Token(argmax(logits)); got != want {
		t.Fatalf("greedy sampler picked %d (logit %v), the largest logit is %d (%v)", got, logits[got], want, logits[want])
	}
	if c.LogitsIth(0) != nil {
		t.Error("LogitsIth(0) returned logits for a position that did not ask for them")
	}
}

func argmax(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// TestTwoSequencesInOneBatch decodes two prompts and their continuations together, one Decode per step for
// both, and expects each sequence to generate what it generates alone.
func TestTwoSequencesInOneBatch(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	prompts := [2][]Token{tokens(t, m, testPrompt), tokens(t, m, "Once upon a time, in a land far away")}
	const n = 12
	var alone [2][]Token
	for i, p := range prompts {
		alone[i] = generate(t, m, newContext(t, m, ContextParams{NCtx: 256}), p, n, SamplerParams{})
	}

	c := newContext(t, m, ContextParams{NCtx: 512, NSeqMax: 2})
	b := newBatch(t, len(prompts[0])+len(prompts[1]), 1)
	var samplers [2]*Sampler
	var idx, pos [2]int32
	for i, p := range prompts {
		samplers[i] = NewSampler(m, SamplerParams{})
		defer samplers[i].Close()
		fillPrompt(b, p, int32(i), 0)
		idx[i], pos[i] = int32(b.Len()-1), int32(len(p))
	}
	decode(t, c, b)
	var together [2][]Token
	for range n {
		var next [2]Token
		for i := range 2 {
			next[i] = samplers[i].Sample(c, idx[i])
			together[i] = append(together[i], next[i])
		}
		b.Clear()
		for i := range 2 {
			idx[i] = int32(b.Len())
			b.Add(next[i], pos[i], []int32{int32(i)}, true)
			pos[i]++
		}
		decode(t, c, b)
	}
	for i := range 2 {
		if !slices.Equal(together[i], alone[i]) {
			t.Errorf("sequence %d: batched %v, alone %v", i, together[i], alone[i])
		}
	}
}

// TestSeqRemoveForgetsTokens removes the end of a sequence and decodes it again at the same positions,
// which only gives the same logits if the removal really happened.
func TestSeqRemoveForgetsTokens(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256})
	prompt := tokens(t, m, testPrompt)
	b := newBatch(t, len(prompt), 1)
	fillPrompt(b, prompt, 0, 0)
	decode(t, c, b)
	want := c.LogitsIth(int32(len(prompt) - 1))
	if got := c.SeqPosMax(0); got != int32(len(prompt)-1) {
		t.Fatalf("SeqPosMax after the prompt = %d, want %d", got, len(prompt)-1)
	}

	const keep = 3
	if !c.SeqRemove(0, keep, -1) {
		t.Fatal("SeqRemove reported failure")
	}
	if got := c.SeqPosMax(0); got != keep-1 {
		t.Fatalf("SeqPosMax after SeqRemove(0, %d, -1) = %d, want %d", keep, got, keep-1)
	}
	b.Clear()
	fillPrompt(b, prompt[keep:], 0, keep)
	decode(t, c, b)
	assertClose(t, c.LogitsIth(int32(b.Len()-1)), want)

	c.ClearMemory()
	if got := c.SeqPosMax(0); got != -1 {
		t.Fatalf("SeqPosMax after ClearMemory = %d, want -1", got)
	}
}

// TestSeqCopySharesAPrefix copies a decoded prompt to a second sequence, which then continues from it as
// if it had decoded the prompt itself.
func TestSeqCopySharesAPrefix(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256, NSeqMax: 2, KVUnified: true})
	prompt := tokens(t, m, testPrompt)
	b := newBatch(t, len(prompt), 1)
	fillPrompt(b, prompt[:len(prompt)-1], 0, 0)
	decode(t, c, b)
	c.SeqCopy(0, 1, -1, -1)
	if got := c.SeqPosMax(1); got != int32(len(prompt)-2) {
		t.Fatalf("SeqPosMax(1) after SeqCopy = %d, want %d", got, len(prompt)-2)
	}
	last := prompt[len(prompt)-1]
	pos := int32(len(prompt) - 1)
	b.Clear()
	b.Add(last, pos, []int32{0}, true)
	b.Add(last, pos, []int32{1}, true)
	decode(t, c, b)
	assertClose(t, c.LogitsIth(1), c.LogitsIth(0))
}

// assertClose compares logits computed along different paths, allowing float rounding differences.
func assertClose(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("got %d logits, want %d", len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-3*max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("logit %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDecodeEmptyBatch(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256})
	if err := c.Decode(newBatch(t, 4, 1)); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("Decode(empty batch) = %v, want ErrEmptyBatch", err)
	}
}

// TestDecodeBatchLargerThanNBatchIsAnError: llama.cpp aborts the process on such a batch.
func TestDecodeBatchLargerThanNBatchIsAnError(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256, NBatch: 8, NUBatch: 8})
	b := newBatch(t, 9, 1)
	for pos := range int32(9) {
		b.Add(m.BOS(), pos, []int32{0}, pos == 8)
	}
	if err := c.Decode(b); err == nil || !strings.Contains(err.Error(), "NBatch") {
		t.Fatalf("Decode of 9 tokens with NBatch 8 = %v, want an error naming NBatch", err)
	}
}

func TestDecodeFullCacheReportsNoKVSlot(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256})
	n := c.NCtx() // llama.cpp may round the size up
	b := newBatch(t, n, 1)
	fill := func(from, count int) {
		b.Clear()
		for pos := from; pos < from+count; pos++ {
			b.Add(m.BOS(), int32(pos), []int32{0}, pos == from+count-1)
		}
	}
	fill(0, n-16)
	decode(t, c, b)
	fill(n-16, 32)
	if err := c.Decode(b); !errors.Is(err, ErrNoKVSlot) {
		t.Fatalf("Decode of 32 tokens into a cache of %d with 16 free = %v, want ErrNoKVSlot", n, err)
	}
}

func TestDecodeInvalidTokenGivesLlamaReason(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256})
	b := newBatch(t, 1, 1)
	b.Add(Token(m.NVocab()+10), 0, []int32{0}, true)
	err := c.Decode(b)
	if err == nil || !strings.Contains(err.Error(), "invalid token") {
		t.Fatalf("Decode(token %d of a %d-token vocabulary) = %v; want llama.cpp's reason", m.NVocab()+10, m.NVocab(), err)
	}
}

// TestSampleWithoutLogitsPanics: llama.cpp aborts the process when sampling a position without logits;
// the binding turns that into a Go panic that names the mistake.
func TestSampleWithoutLogitsPanics(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256})
	prompt := tokens(t, m, testPrompt)
	b := newBatch(t, len(prompt), 1)
	fillPrompt(b, prompt, 0, 0)
	decode(t, c, b)
	s := NewSampler(m, SamplerParams{})
	defer s.Close()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "no logits") {
			t.Fatalf("Sample(0) recovered %v; want a panic saying the position has no logits", r)
		}
	}()
	s.Sample(c, 0)
}

func TestBatchAddBeyondCapacityPanics(t *testing.T) {
	initLibraries(t)
	b := newBatch(t, 1, 1)
	b.Add(1, 0, []int32{0}, false)
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Add to a full batch did not panic")
		}
	}()
	b.Add(1, 1, []int32{0}, false)
}

// TestSequenceCallsPanicInsteadOfAborting: llama.cpp aborts the process on these misuses; the binding
// panics with a message naming the mistake.
func TestSequenceCallsPanicInsteadOfAborting(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 512, NSeqMax: 2})
	for name, call := range map[string]func(){
		"SeqRemove of an unknown sequence":  func() { c.SeqRemove(2, 0, -1) },
		"SeqCopy to an unknown sequence":    func() { c.SeqCopy(0, 2, -1, -1) },
		"SeqPosMax of an unknown sequence":  func() { c.SeqPosMax(-1) },
		"partial SeqCopy without KVUnified": func() { c.SeqCopy(0, 1, 0, 5) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("no panic")
				}
			}()
			call()
		})
	}
	if !c.SeqRemove(-1, 0, -1) {
		t.Error("SeqRemove(-1, ...) of every sequence failed")
	}
	c.SeqCopy(0, 1, -1, -1)
}
