package llama

import "testing"

// TestSampleForcedPicksTheForcedToken forces a token the seeded chain would not pick on its own: it must come
// out, on every draw, whatever the temperature.
func TestSampleForcedPicksTheForcedToken(t *testing.T) {
	m, c, last := decodedTestPrompt(t)
	p := SamplerParams{Seed: 7, Temperature: 1.5, TopK: 20, TopP: 0.9}
	free := NewSampler(m, p)
	defer free.Close()
	forced := free.Sample(c, last) + 1
	s := NewSampler(m, p)
	defer s.Close()
	for i := range 5 {
		got, left := s.SampleForced(c, last, forced)
		if got != forced {
			t.Fatalf("draw %d: SampleForced picked %d, want the forced %d", i, got, forced)
		}
		if len(left) == 0 || left[0].ID != forced {
			t.Fatalf("draw %d: the candidates left are %v, want only the forced token", i, left)
		}
	}
}

// A reasoning budget forces the end marker while the lazy tool-call grammar is held back: the grammar takes
// the forced tokens, and the forced end marker ends the hold.
func TestSampleForcedEndsTheReasoningOfAHeldGrammar(t *testing.T) {
	m, c, last := decodedTestPrompt(t)
	lazy, err := ParseLazyGrammar(m, `root ::= "<call>" [0-9]+`, []string{"<call>"})
	if err != nil {
		t.Fatal(err)
	}
	start, end := tokens(t, m, "<|im_start|>"), tokens(t, m, "<|im_end|>")
	g := lazy.HeldWhileReasoning(ReasoningTags{Start: start, Ends: [][]Token{end}, Prompt: start})
	s := NewSampler(m, SamplerParams{Seed: 7, Temperature: 1, Grammar: g})
	defer s.Close()
	if !s.grammar.state.gate.holds() {
		t.Fatal("the prompt opened the reasoning, and the grammar is not held")
	}
	for _, forced := range end {
		if got, _ := s.SampleForced(c, last, forced); got != forced {
			t.Fatalf("SampleForced picked %d, want the forced %d", got, forced)
		}
	}
	if s.grammar.state.gate.holds() {
		t.Error("the forced end marker did not end the hold")
	}
}

// decodedTestPrompt decodes testPrompt on the small model and returns the context and the position of its
// last token, whose logits the tests sample.
func decodedTestPrompt(t *testing.T) (*Model, *Context, int32) {
	t.Helper()
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256})
	prompt := tokens(t, m, testPrompt)
	b := newBatch(t, len(prompt), 1)
	fillPrompt(b, prompt, 0, 0)
	decode(t, c, b)
	return m, c, int32(len(prompt) - 1)
}
