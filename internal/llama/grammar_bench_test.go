package llama

import (
	"testing"
)

// BenchmarkConstrainedSampling compares the two ways to sample under a grammar, from the logits of one
// decoded prompt: llama-server's default (sample, check the one token, mask the whole vocabulary only on
// a rejection), which Sampler does, and masking first (a grammar walk per token of the vocabulary at
// every step). "valid" is a grammar that takes whatever the model samples, as a model that follows its
// instructions mostly does; "rejected" one whose first character the model never samples.
func BenchmarkConstrainedSampling(b *testing.B) {
	m := loadModel(b, benchModelOptions)
	c := newContext(b, m, ContextParams{NCtx: 256})
	prompt := tokens(b, m, testPrompt)
	batch := newBatch(b, len(prompt), 1)
	fillPrompt(batch, prompt, 0, 0)
	decode(b, c, batch)
	idx := int32(len(prompt) - 1)
	grammars := map[string]string{"valid": `root ::= [^\x00]*`, "rejected": `root ::= "{" [0-9]*`}
	params := SamplerParams{Seed: 1, Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05}
	b.Run("unconstrained", func(b *testing.B) {
		for b.Loop() {
			s := NewSampler(m, params)
			s.Sample(c, idx)
			s.Close()
		}
	})
	for name, gbnf := range grammars {
		g, err := ParseGrammar(m, gbnf)
		if err != nil {
			b.Fatal(err)
		}
		p := params
		p.Grammar = g
		b.Run(name+"/sample-then-check", func(b *testing.B) {
			for b.Loop() {
				s := NewSampler(m, p)
				s.Sample(c, idx)
				s.Close()
			}
		})
		b.Run(name+"/mask-first", func(b *testing.B) {
			for b.Loop() {
				s := NewSampler(m, params)
				k := newConstraint(g)
				arr := k.candidates(c, idx)
				k.state.mask(arr)
				llamaSamplerApply(s.ptr, arr)
				tok := selectedToken(arr)
				if err := k.state.Accept(tok); err != nil {
					b.Fatal(err)
				}
				k.close()
				s.Close()
			}
		})
	}
	b.Logf("vocabulary of %d tokens", m.NVocab())
}
