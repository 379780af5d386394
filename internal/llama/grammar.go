package llama

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"unsafe"
)

// Limits on a grammar's text, checked before llama.cpp sees it. Its parser and its grammar walk recurse
// on the C stack once per nesting level and per chained rule, so a hostile grammar of a few hundred
// kilobytes could overflow that stack and end the process; these bounds keep every grammar a JSON schema
// or a person would write and refuse the rest with an error.
//
// Repetitions are checked too: llama.cpp expands "x{m,n}" into n rules, so their total is bounded, and
// "x{m,n}" with n < m makes its parser loop, allocating, until the process runs out of memory (the real
// llama-server does so on such a request).
const (
	MaxGrammarBytes      = 128 << 10
	maxGrammarDepth      = 64
	maxGrammarExpansions = 100_000
)

// Grammar is a GBNF grammar parsed by llama.cpp against one model's vocabulary. It is immutable: each
// sequence follows it with its own GrammarState (a Sampler made with SamplerParams.Grammar does so), so
// one Grammar may serve many sequences and goroutines. Its C memory is freed when it is garbage.
type Grammar struct {
	proto *grammarProto
	model *Model
	// lazy is set for a grammar that waits for a trigger (ParseLazyGrammar).
	lazy *triggers
	// reasoning is set for a grammar held back while the model reasons (HeldWhileReasoning).
	reasoning *ReasoningTags
}

// ParseGrammar parses gbnf, whose start rule is "root", for m's vocabulary. The error names what llama.cpp
// reported; its parser prints the detail of a syntax error (the position) to the process's standard error
// rather than to its log, so a syntax error reads only "failed to parse grammar" here.
func ParseGrammar(m *Model, gbnf string) (*Grammar, error) {
	return parseGrammar(m, gbnf, func() uintptr { return llamaSamplerInitGrammar(m.vocab, gbnf, "root") })
}

func parseGrammar(m *Model, gbnf string, initGrammar func() uintptr) (*Grammar, error) {
	if strings.TrimSpace(gbnf) == "" {
		return nil, errors.New("llama: grammar: the grammar is empty")
	}
	if err := checkGrammarBounds(gbnf); err != nil {
		return nil, err
	}
	ptr, errorLines := callReportingError(initGrammar)
	if ptr == 0 {
		return nil, fmt.Errorf("llama: grammar: %s", describeFailure(errorLines))
	}
	proto := &grammarProto{ptr: ptr}
	runtime.AddCleanup(proto, func(p uintptr) { llamaSamplerFree(p) }, ptr)
	return &Grammar{proto: proto, model: m}, nil
}

// checkGrammarBounds refuses a grammar longer than MaxGrammarBytes or with groups nested deeper than
// maxGrammarDepth, outside its quoted literals and character classes.
func checkGrammarBounds(gbnf string) error {
	if len(gbnf) > MaxGrammarBytes {
		return fmt.Errorf("llama: grammar: %d bytes is more than the %d accepted", len(gbnf), MaxGrammarBytes)
	}
	depth, expansions := 0, 0
	for i := 0; i < len(gbnf); i++ {
		switch c := gbnf[i]; c {
		case '{':
			end, count, err := readRepetition(gbnf, i)
			if err != nil {
				return err
			}
			expansions += count
			if expansions > maxGrammarExpansions {
				return fmt.Errorf("llama: grammar: its repetitions {m,n} expand to more than %d rules", maxGrammarExpansions)
			}
			i = end
		case '"', '[':
			i = skipQuoted(gbnf, i)
		case '#':
			for i < len(gbnf) && gbnf[i] != '\n' {
				i++
			}
		case '(':
			depth++
			if depth > maxGrammarDepth {
				return fmt.Errorf("llama: grammar: groups nested more than %d deep", maxGrammarDepth)
			}
		case ')':
			depth--
		}
	}
	return nil
}

// readRepetition reads the {m}, {m,} or {m,n} opening at i and returns the index of its '}' and the number
// of rules it expands to; a malformed one is left to llama.cpp's parser, which reports it.
func readRepetition(s string, i int) (end, count int, err error) {
	closing := strings.IndexByte(s[i:], '}')
	if closing < 0 {
		return i, 0, nil
	}
	inner := strings.ReplaceAll(s[i+1:i+closing], " ", "")
	lo, hi, hasComma := strings.Cut(inner, ",")
	m, errLo := strconv.Atoi(lo)
	if errLo != nil {
		return i, 0, nil
	}
	count = m
	if hasComma && hi != "" {
		n, errHi := strconv.Atoi(hi)
		if errHi != nil {
			return i, 0, nil
		}
		if n < m {
			return i, 0, fmt.Errorf("llama: grammar: the repetition {%s} has its maximum below its minimum", inner)
		}
		count = n
	}
	return i + closing, max(count, 1), nil
}

// skipQuoted returns the index of the character closing the literal or class that opens at i.
func skipQuoted(s string, i int) int {
	closing := s[i]
	if closing == '[' {
		closing = ']'
	}
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case closing:
			return i
		}
	}
	return i
}

// GrammarState follows one sequence through a Grammar: which tokens may come next, and the tokens taken.
// It belongs to one goroutine at a time; Close frees it.
type GrammarState struct {
	ptr   uintptr // llama_sampler * (the grammar)
	model *Model
	// lazy, awaiting and text follow a lazy grammar's trigger as llama.cpp does (see await): whether it
	// still waits for one, and the text generated while it waits.
	lazy     *triggers
	awaiting bool
	text     []byte
	// reasoning and gate hold the grammar back while the model reasons (see HeldWhileReasoning).
	reasoning *ReasoningTags
	gate      *reasoningGate
}

// grammarProto owns the llama_sampler * of a parsed grammar in its initial state, cloned for each
// sequence. Every Grammar made from one parse (HeldWhileReasoning copies one) points at the same
// grammarProto, so the sampler is freed only once none of them is left.
type grammarProto struct{ ptr uintptr }

// NewState starts a sequence at the grammar's beginning.
func (g *Grammar) NewState() *GrammarState {
	s := &GrammarState{ptr: llamaSamplerClone(g.proto.ptr), model: g.model, lazy: g.lazy, awaiting: g.lazy != nil,
		reasoning: g.reasoning}
	runtime.KeepAlive(g.proto)
	if g.reasoning != nil {
		s.gate = newReasoningGate(g.reasoning)
	}
	return s
}

// Allows reports whether t may come next. An end-of-generation token is allowed where the grammar may end.
func (s *GrammarState) Allows(t Token) bool {
	if s.gate.holds() {
		return true
	}
	one := TokenData{ID: t}
	arr := tokenDataArray{data: &one, size: 1, selected: -1}
	llamaSamplerApply(s.ptr, &arr)
	return !isNegInf(unsafe.Slice(arr.data, arr.size)[0].Logit)
}

// Accept moves past t, which must be allowed: llama.cpp aborts the process on a token its grammar cannot
// take, so Accept refuses one with an error instead.
func (s *GrammarState) Accept(t Token) error {
	if !s.Allows(t) {
		return fmt.Errorf("llama: grammar: token %d (%q) is not allowed here", t, s.model.TokenPiece(t))
	}
	if s.gate != nil {
		held := s.gate.holds()
		if s.gate.accept(t) {
			for _, end := range s.gate.endMatch {
				if err := s.take(end); err != nil {
					return err
				}
			}
		}
		if held {
			return nil
		}
	}
	return s.take(t)
}

// take gives t to the grammar: past a lazy grammar's trigger check, to llama.cpp's grammar.
func (s *GrammarState) take(t Token) error {
	if s.awaiting {
		if err := s.await(t); err != nil {
			return err
		}
	}
	llamaSamplerAccept(s.ptr, t)
	return nil
}

// mask sets the logit of every candidate the grammar does not allow next to minus infinity.
func (s *GrammarState) mask(arr *tokenDataArray) {
	if !s.gate.holds() {
		llamaSamplerApply(s.ptr, arr)
	}
}

// reset goes back to the grammar's beginning.
func (s *GrammarState) reset() {
	llamaSamplerReset(s.ptr)
	s.awaiting, s.text = s.lazy != nil, nil
	if s.reasoning != nil {
		s.gate = newReasoningGate(s.reasoning)
	}
}

// Close frees the state. Further calls do nothing.
func (s *GrammarState) Close() {
	if s != nil && s.ptr != 0 {
		llamaSamplerFree(s.ptr)
		s.ptr = 0
	}
}

func isNegInf(f float32) bool { return f < -3.4e38 }

// constraint is a Sampler's grammar: the sequence's state in it and the candidate array that sampling
// under it fills, kept to spare an allocation of the vocabulary's size per token.
type constraint struct {
	state *GrammarState
	cand  []TokenData
	arr   tokenDataArray
}

func newConstraint(g *Grammar) *constraint { return &constraint{state: g.NewState()} }

func (k *constraint) close() {
	if k != nil {
		k.state.Close()
	}
}

// sampleConstrained picks a token that the grammar allows, as llama-server's sampler does by default: it
// samples from the whole distribution first and checks only that one token against the grammar, which is
// cheap; only when the grammar rejects it does it mask every candidate (a walk of the grammar per token
// of the vocabulary) and sample again. The draws and the result are those of llama-server for the same
// seed. When the grammar allows no token at all, the sequence ends with the model's end of sequence.
func (s *Sampler) sampleConstrained(c *Context, idx int32) Token {
	tok, _ := s.constrainedDraw(c, idx)
	return tok
}

// constrainedDraw is sampleConstrained that also returns the candidate array the chain left, which holds
// the post-sampling probabilities until the next draw.
func (s *Sampler) constrainedDraw(c *Context, idx int32) (Token, *tokenDataArray) {
	k := s.grammar
	arr := k.candidates(c, idx)
	llamaSamplerApply(s.ptr, arr)
	tok := selectedToken(arr)
	if !k.state.Allows(tok) {
		arr = k.candidates(c, idx)
		k.state.mask(arr)
		llamaSamplerApply(s.ptr, arr)
		tok = selectedToken(arr)
	}
	runtime.KeepAlive(k.cand)
	if k.state.Accept(tok) != nil {
		return k.state.model.EOS(), arr
	}
	llamaSamplerAccept(s.ptr, tok)
	return tok, arr
}

// candidates fills the candidate array with the logits of position idx, every token unsorted,
// as llama.cpp's own sampling starts.
func (k *constraint) candidates(c *Context, idx int32) *tokenDataArray {
	logits := unsafe.Slice((*float32)(llamaGetLogitsIth(c.ptr, idx)), c.nVocab)
	if len(k.cand) != c.nVocab {
		k.cand = make([]TokenData, c.nVocab)
	}
	for i, l := range logits {
		k.cand[i] = TokenData{ID: Token(i), Logit: l}
	}
	k.arr = tokenDataArray{data: &k.cand[0], size: uintptr(len(k.cand)), selected: -1}
	return &k.arr
}

// selectedToken is the candidate the chain selected; with none selected (no candidate had a finite
// logit), the first.
func selectedToken(arr *tokenDataArray) Token {
	data := unsafe.Slice(arr.data, arr.size)
	if arr.selected < 0 || arr.selected >= int64(len(data)) {
		return data[0].ID
	}
	return data[arr.selected].ID
}
