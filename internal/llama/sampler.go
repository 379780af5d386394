package llama

import "fmt"

// SeedRandom as SamplerParams.Seed asks llama.cpp for a random seed (LLAMA_DEFAULT_SEED).
const SeedRandom uint32 = 0xFFFFFFFF

// SamplerParams configures a sampler chain. The zero value samples greedily with no penalties.
type SamplerParams struct {
	// Seed seeds the random choice when Temperature > 0; SeedRandom picks one at random.
	Seed uint32
	// Temperature <= 0 always picks the most likely token (greedy).
	Temperature float32
	// TopK keeps the K most likely tokens (<= 0: all).
	TopK int
	// TopP keeps the most likely tokens whose probabilities add up to P (<= 0 or >= 1: all).
	TopP float32
	// MinP drops tokens less likely than MinP times the most likely one (<= 0: none).
	MinP float32
	// RepeatPenalty divides the logits of recent tokens (<= 0 or 1: off).
	RepeatPenalty float32
	// PresencePenalty is subtracted from the logit of any recent token (0: off).
	PresencePenalty float32
	// FrequencyPenalty is subtracted once per occurrence of a recent token (0: off).
	FrequencyPenalty float32
	// PenaltyLastN is how many recent tokens the penalties look at (0: 64, llama-server's default).
	PenaltyLastN int
	// Grammar, when set, constrains the sampled tokens (see sampleConstrained); prompt tokens given to
	// Accept do not advance it.
	Grammar *Grammar
}

// defaultPenaltyLastN is llama-server's repeat_last_n.
const defaultPenaltyLastN = 64

// Sampler picks the next token from a context's logits with a llama.cpp sampler chain: penalties, then top-k,
// top-p, min-p, temperature and a seeded random draw, or greedy. It keeps the penalty history, so it belongs
// to one sequence and one goroutine at a time; Close frees it.
type Sampler struct {
	ptr     uintptr // llama_sampler * (the chain)
	grammar *constraint
}

// NewSampler builds the chain for p.
func NewSampler(m *Model, p SamplerParams) *Sampler {
	s := newChain(m, p)
	if p.Grammar != nil {
		s.grammar = newConstraint(p.Grammar)
	}
	return s
}

func newChain(m *Model, p SamplerParams) *Sampler {
	chain := llamaSamplerChainInit(llamaSamplerChainDefaultParams())
	add := func(s uintptr) { llamaSamplerChainAdd(chain, s) }
	repeat := p.RepeatPenalty
	if repeat <= 0 {
		repeat = 1
	}
	if repeat != 1 || p.PresencePenalty != 0 || p.FrequencyPenalty != 0 {
		lastN := p.PenaltyLastN
		if lastN <= 0 {
			lastN = defaultPenaltyLastN
		}
		add(llamaSamplerInitPenalties(int32(m.nVocab), int32(lastN), repeat, p.FrequencyPenalty, p.PresencePenalty))
	}
	if p.Temperature <= 0 {
		add(llamaSamplerInitGreedy())
		return &Sampler{ptr: chain}
	}
	if p.TopK > 0 {
		add(llamaSamplerInitTopK(int32(p.TopK)))
	}
	if p.TopP > 0 && p.TopP < 1 {
		add(llamaSamplerInitTopP(p.TopP, 1))
	}
	if p.MinP > 0 {
		add(llamaSamplerInitMinP(p.MinP, 1))
	}
	add(llamaSamplerInitTemp(p.Temperature))
	add(llamaSamplerInitDist(p.Seed))
	return &Sampler{ptr: chain}
}

// Sample picks a token from the logits of position idx of c's last decoded batch (negative: counted from
// the last output) and records it in the penalty history. It panics if that position did not ask for
// logits, where llama.cpp would abort the process.
func (s *Sampler) Sample(c *Context, idx int32) Token {
	if !c.hasOutput(idx) {
		panic(fmt.Sprintf("llama: Sample(%d): that position of the last decoded batch has no logits", idx))
	}
	if s.grammar != nil {
		return s.sampleConstrained(c, idx)
	}
	return llamaSamplerSample(s.ptr, c.ptr, idx)
}

// Accept records t in the penalty history without sampling, for prompt tokens.
func (s *Sampler) Accept(t Token) { llamaSamplerAccept(s.ptr, t) }

// Reset forgets the penalty history, reseeds the random draw and restarts the grammar.
func (s *Sampler) Reset() {
	llamaSamplerReset(s.ptr)
	if s.grammar != nil {
		s.grammar.state.reset()
	}
}

// Close frees the sampler chain. Further calls do nothing.
func (s *Sampler) Close() {
	if s.ptr != 0 {
		llamaSamplerFree(s.ptr)
		s.ptr = 0
	}
	s.grammar.close()
	s.grammar = nil
}
