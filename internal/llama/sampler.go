package llama

import (
	"fmt"
	"slices"
)

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

	// The rest are llama-server's further samplers, each off at its zero value.

	// MinKeep is the fewest tokens top-p, min-p, typical-p and XTC leave (0: 1).
	MinKeep int
	// TypicalP keeps the locally typical tokens whose probabilities add up to P (<= 0 or >= 1: off).
	TypicalP float32
	// TopNSigma keeps the tokens whose logits are within N standard deviations of the largest (<= 0: off).
	TopNSigma float32
	// XTCProbability is the chance that XTC removes the likeliest tokens above XTCThreshold (0: off).
	XTCProbability float32
	XTCThreshold   float32
	// DynatempRange > 0 varies the temperature by the entropy within Temperature ± DynatempRange, shaped by
	// DynatempExponent (0: 1).
	DynatempRange    float32
	DynatempExponent float32
	// Mirostat 1 or 2 replaces top-k/top-p/min-p and the random draw by Mirostat (1.0 or 2.0) with target
	// entropy MirostatTau and learning rate MirostatEta.
	Mirostat    int
	MirostatTau float32
	MirostatEta float32
	// LogitBias is added to the logits of its tokens before any other sampler; -Inf bans a token.
	LogitBias []LogitBias
	// DRYMultiplier > 0 penalizes tokens that would extend a repetition longer than DRYAllowedLength,
	// by DRYMultiplier * DRYBase^(length - DRYAllowedLength), looking back DRYPenaltyLastN tokens;
	// DRYSequenceBreakers end the repetitions it follows.
	DRYMultiplier       float32
	DRYBase             float32
	DRYAllowedLength    int
	DRYPenaltyLastN     int
	DRYSequenceBreakers []string
	// AdaptiveTarget and AdaptiveDecay configure StageAdaptiveP: select tokens near probability
	// AdaptiveTarget (negative: disabled), adapting with an EMA of decay AdaptiveDecay.
	AdaptiveTarget float32
	AdaptiveDecay  float32
	// Order is the order of the chain's stages, each used as often as it appears (nil: llama-server's
	// default order).
	Order []Stage
}

// LogitBias is one entry of SamplerParams.LogitBias, laid out as llama.cpp's llama_logit_bias.
type LogitBias struct {
	Token Token
	Bias  float32
}

// mirostatM is the number of tokens Mirostat 1.0 estimates from, the value of its paper and llama-server.
const mirostatM = 100

// defaultPenaltyLastN is llama-server's repeat_last_n.
const defaultPenaltyLastN = 64

// Sampler picks the next token from a context's logits with a llama.cpp sampler chain: penalties, then top-k,
// top-p, min-p, temperature and a seeded random draw, or greedy. It keeps the penalty history, so it belongs
// to one sequence and one goroutine at a time; Close frees it.
type Sampler struct {
	ptr     uintptr // llama_sampler * (the chain)
	grammar *constraint
}

// Stage is one step of a sampler chain, for SamplerParams.Order.
type Stage int

// The stages llama-server can order ("samplers"), in its default order.
const (
	StagePenalties Stage = iota
	StageDRY
	StageTopNSigma
	StageTopK
	StageTypicalP
	StageTopP
	StageMinP
	StageXTC
	StageTemperature
	// StageAdaptiveP selects the token (adaptive-p, near AdaptiveTarget) instead of the random draw, so it
	// takes effect once, at the chain's end, wherever it is listed.
	StageAdaptiveP
)

// defaultOrder is llama-server's default chain.
var defaultOrder = []Stage{StagePenalties, StageDRY, StageTopNSigma, StageTopK, StageTypicalP, StageTopP,
	StageMinP, StageXTC, StageTemperature}

// DefaultOrder is the chain's order when SamplerParams.Order is nil.
func DefaultOrder() []Stage { return slices.Clone(defaultOrder) }

// NewSampler builds the chain for p: logit bias, then the stages of p.Order (llama-server's default order
// when nil: penalties, DRY, top-n-sigma, top-k, typical-p, top-p, min-p, XTC, temperature) and the random
// draw. With the default order a temperature <= 0 samples greedily after the penalties and DRY, which picks
// what the full chain would. With Mirostat the chain is logit bias, temperature and Mirostat alone, as
// llama-server builds it.
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
	if len(p.LogitBias) > 0 {
		add(llamaSamplerInitLogitBias(int32(m.nVocab), int32(len(p.LogitBias)), &p.LogitBias[0]))
	}
	switch p.Mirostat {
	case 1:
		add(llamaSamplerInitTemp(p.Temperature))
		add(llamaSamplerInitMirostat(int32(m.nVocab), p.Seed, p.MirostatTau, p.MirostatEta, mirostatM))
		return &Sampler{ptr: chain}
	case 2:
		add(llamaSamplerInitTemp(p.Temperature))
		add(llamaSamplerInitMirostatV2(p.Seed, p.MirostatTau, p.MirostatEta))
		return &Sampler{ptr: chain}
	}
	order := p.Order
	if order == nil {
		order = defaultOrder
		if p.Temperature <= 0 {
			order = []Stage{StagePenalties, StageDRY}
		}
	}
	adaptive := false
	for _, stage := range order {
		adaptive = adaptive || stage == StageAdaptiveP
		if s := newStage(m, p, stage); s != 0 {
			add(s)
		}
	}
	switch {
	case adaptive:
		add(llamaSamplerInitAdaptiveP(p.AdaptiveTarget, p.AdaptiveDecay, p.Seed))
	case p.Order == nil && p.Temperature <= 0:
		add(llamaSamplerInitGreedy())
	default:
		add(llamaSamplerInitDist(p.Seed))
	}
	return &Sampler{ptr: chain}
}

// newStage makes the sampler of one stage, or returns 0 when p leaves that stage off.
func newStage(m *Model, p SamplerParams, stage Stage) uintptr {
	minKeep := uintptr(max(p.MinKeep, 1))
	switch stage {
	case StagePenalties:
		repeat := p.RepeatPenalty
		if repeat <= 0 {
			repeat = 1
		}
		if repeat == 1 && p.PresencePenalty == 0 && p.FrequencyPenalty == 0 {
			return 0
		}
		lastN := p.PenaltyLastN
		if lastN <= 0 {
			lastN = defaultPenaltyLastN
		}
		return llamaSamplerInitPenalties(int32(m.nVocab), int32(lastN), repeat, p.FrequencyPenalty, p.PresencePenalty)
	case StageDRY:
		if p.DRYMultiplier > 0 {
			return newDRY(m, p)
		}
	case StageTopNSigma:
		if p.TopNSigma > 0 {
			return llamaSamplerInitTopNSigma(p.TopNSigma)
		}
	case StageTopK:
		if p.TopK > 0 {
			return llamaSamplerInitTopK(int32(p.TopK))
		}
	case StageTypicalP:
		if p.TypicalP > 0 && p.TypicalP < 1 {
			return llamaSamplerInitTypical(p.TypicalP, minKeep)
		}
	case StageTopP:
		if p.TopP > 0 && p.TopP < 1 {
			return llamaSamplerInitTopP(p.TopP, minKeep)
		}
	case StageMinP:
		if p.MinP > 0 {
			return llamaSamplerInitMinP(p.MinP, minKeep)
		}
	case StageXTC:
		if p.XTCProbability > 0 {
			return llamaSamplerInitXTC(p.XTCProbability, p.XTCThreshold, minKeep, p.Seed)
		}
	case StageTemperature:
		if p.DynatempRange > 0 {
			exponent := p.DynatempExponent
			if exponent == 0 {
				exponent = 1
			}
			return llamaSamplerInitTempExt(p.Temperature, p.DynatempRange, exponent)
		}
		return llamaSamplerInitTemp(p.Temperature)
	}
	return 0
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
