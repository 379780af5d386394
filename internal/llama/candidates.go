package llama

import (
	"fmt"
	"runtime"
	"unsafe"
)

// The C functions of the further samplers and of sampling over an explicit candidate list. They are bound
// with the rest by Init; they live here so that the chain's options stay in one place.
var (
	llamaSamplerInitLogitBias  func(nVocab, nLogitBias int32, bias *LogitBias) uintptr
	llamaSamplerInitTypical    func(p float32, minKeep uintptr) uintptr
	llamaSamplerInitTopNSigma  func(n float32) uintptr
	llamaSamplerInitXTC        func(p, t float32, minKeep uintptr, seed uint32) uintptr
	llamaSamplerInitTempExt    func(t, delta, exponent float32) uintptr
	llamaSamplerInitMirostat   func(nVocab int32, seed uint32, tau, eta float32, m int32) uintptr
	llamaSamplerInitMirostatV2 func(seed uint32, tau, eta float32) uintptr
	llamaSamplerInitDRY        func(vocab uintptr, multiplier, base float32, allowedLength, penaltyLastN int32, breakers **byte, nBreakers uintptr) uintptr
	llamaSamplerInitAdaptiveP  func(target, decay float32, seed uint32) uintptr
)

func init() {
	llamaSymbols = append(llamaSymbols,
		symbol{"llama_sampler_init_logit_bias", &llamaSamplerInitLogitBias},
		symbol{"llama_sampler_init_typical", &llamaSamplerInitTypical},
		symbol{"llama_sampler_init_top_n_sigma", &llamaSamplerInitTopNSigma},
		symbol{"llama_sampler_init_xtc", &llamaSamplerInitXTC},
		symbol{"llama_sampler_init_temp_ext", &llamaSamplerInitTempExt},
		symbol{"llama_sampler_init_mirostat", &llamaSamplerInitMirostat},
		symbol{"llama_sampler_init_mirostat_v2", &llamaSamplerInitMirostatV2},
		symbol{"llama_sampler_init_dry", &llamaSamplerInitDRY},
		symbol{"llama_sampler_init_adaptive_p", &llamaSamplerInitAdaptiveP},
	)
}

// newDRY makes the DRY sampler of p. llama.cpp reads the sequence breakers during the call (it tokenizes
// them), so they are passed as pinned NUL-terminated copies for its duration only.
func newDRY(m *Model, p SamplerParams) uintptr {
	var pin runtime.Pinner
	defer pin.Unpin()
	ptrs := make([]*byte, len(p.DRYSequenceBreakers))
	for i, b := range p.DRYSequenceBreakers {
		c := append([]byte(b), 0)
		pin.Pin(&c[0])
		ptrs[i] = &c[0]
	}
	var first **byte
	if len(ptrs) > 0 {
		pin.Pin(&ptrs[0])
		first = &ptrs[0]
	}
	return llamaSamplerInitDRY(m.vocab, p.DRYMultiplier, p.DRYBase, int32(p.DRYAllowedLength), int32(p.DRYPenaltyLastN),
		first, uintptr(len(ptrs)))
}

// TokenData is one candidate token: llama.cpp's llama_token_data.
type TokenData struct {
	ID    Token
	Logit float32
	P     float32
}

// tokenDataArray is llama.cpp's llama_token_data_array (32 bytes on 64-bit platforms).
type tokenDataArray struct {
	data     *TokenData
	size     uintptr
	selected int64
	sorted   bool
}

// LogitsView returns the logits of position i of the last decoded batch without copying them, or nil when
// that position asked for none. The slice is llama.cpp's memory: it is valid only until the next Decode,
// and must not be written.
func (c *Context) LogitsView(i int32) []float32 {
	if !c.hasOutput(i) {
		return nil
	}
	p := llamaGetLogitsIth(c.ptr, i)
	if p == nil {
		return nil
	}
	return unsafe.Slice((*float32)(p), c.nVocab)
}

// SampleCandidates samples like Sample and also returns the candidates the chain left, with the
// probabilities its last stage gave them (llama-server's post-sampling probabilities). It copies the whole
// vocabulary's logits, so Sample stays the choice when the candidates are not wanted.
func (s *Sampler) SampleCandidates(c *Context, idx int32) (Token, []TokenData) {
	logits := c.LogitsView(idx)
	if logits == nil {
		panic(fmt.Sprintf("llama: SampleCandidates(%d): that position of the last decoded batch has no logits", idx))
	}
	if s.grammar != nil {
		tok, arr := s.constrainedDraw(c, idx)
		return tok, append([]TokenData(nil), unsafe.Slice(arr.data, arr.size)...)
	}
	cur := make([]TokenData, len(logits))
	for i, l := range logits {
		cur[i] = TokenData{ID: Token(i), Logit: l}
	}
	tok, left, ok := s.applyChain(cur)
	if !ok {
		panic("llama: SampleCandidates: the sampler chain selected no token")
	}
	llamaSamplerAccept(s.ptr, tok)
	return tok, left
}

// applyChain runs the chain over the candidates cur and returns the token it selected (the first
// candidate when it selected none, ok false) and the candidates it left, copied: a sampler may point the
// array at memory of its own, which is read before the next call.
func (s *Sampler) applyChain(cur []TokenData) (tok Token, left []TokenData, ok bool) {
	var pin runtime.Pinner
	pin.Pin(&cur[0])
	arr := tokenDataArray{data: &cur[0], size: uintptr(len(cur)), selected: -1}
	llamaSamplerApply(s.ptr, &arr)
	pin.Unpin()
	left = append([]TokenData(nil), unsafe.Slice(arr.data, arr.size)...)
	if arr.selected < 0 || arr.selected >= int64(len(left)) {
		return left[0].ID, left, false
	}
	return left[arr.selected].ID, left, true
}
