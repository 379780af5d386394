package llama

import (
	"fmt"
	"math"
)

// SampleForced samples position idx with every candidate but forced masked out, and returns the token the
// chain selected (forced, unless the chain's own logit bias bans it) and the candidates it left. It is how llama-server ends a reasoning block whose budget is spent: the chain
// runs over the masked candidates as over any others, so its random draws, and with them the tokens after
// the forced ones, stay those of llama-server for the same seed. A Sampler's grammar is not applied to the
// forced token but takes it, as the lazy tool-call grammar held while the model reasons (the only grammar
// a reasoning budget meets) does in llama-server: the forced end marker ends the hold. A grammar that
// refuses it ends the sequence with the model's end of sequence, as sampleConstrained does.
func (s *Sampler) SampleForced(c *Context, idx int32, forced Token) (Token, []TokenData) {
	logits := c.LogitsView(idx)
	if logits == nil {
		panic(fmt.Sprintf("llama: SampleForced(%d): that position of the last decoded batch has no logits", idx))
	}
	cur := make([]TokenData, len(logits))
	masked := float32(math.Inf(-1))
	for i, l := range logits {
		if Token(i) != forced {
			l = masked
		}
		cur[i] = TokenData{ID: Token(i), Logit: l}
	}
	tok, left, _ := s.applyChain(cur)
	if s.grammar != nil && s.grammar.state.Accept(tok) != nil {
		return s.grammar.state.model.EOS(), left
	}
	llamaSamplerAccept(s.ptr, tok)
	return tok, left
}
