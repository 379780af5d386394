package llama

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"slices"
)

// A lazy grammar allows every token until a trigger appears in the generated text, and constrains the rest
// from the trigger on, as llama-server constrains tool calls under tool_choice "auto".
//
// llama.cpp replays the text from the trigger into the grammar when the trigger appears, and throws a C++
// exception, which ends the process, when that text does not fit the grammar: a token may carry more text
// than the trigger, and the model chose it freely. So the state follows the trigger in Go too, and checks
// that text against the same grammar (not lazy) before llama.cpp sees the token.

// triggers are a lazy grammar's triggers and what checks the text they start.
type triggers struct {
	words   [][]byte // trigger words matched in the text, in the order llama.cpp tries them
	tokens  []Token  // trigger words that are one token of the vocabulary
	checker *Grammar // the same grammar, applied from the start
}

// ParseLazyGrammar is ParseGrammar for a grammar that applies only from the first of triggerWords the model
// writes, or the first of triggerTokens it samples; until then it allows every token. As llama-server does
// with its trigger words, a word that is one token of the vocabulary triggers when that token is sampled,
// and any other word when the generated text comes to contain it; the grammar then sees the text from the
// trigger on, so it must start with it.
func ParseLazyGrammar(m *Model, gbnf string, triggerWords []string, triggerTokens ...Token) (*Grammar, error) {
	if len(triggerWords) == 0 && len(triggerTokens) == 0 {
		return nil, fmt.Errorf("llama: grammar: a lazy grammar needs a trigger")
	}
	for _, t := range triggerTokens {
		if t < 0 || int(t) >= m.nVocab {
			return nil, fmt.Errorf("llama: grammar: the trigger token %d is outside the vocabulary", t)
		}
	}
	checker, err := ParseGrammar(m, gbnf)
	if err != nil {
		return nil, err
	}
	lz := &triggers{checker: checker, tokens: slices.Clone(triggerTokens)}
	var patterns []string
	for _, w := range triggerWords {
		if w == "" {
			return nil, fmt.Errorf("llama: grammar: an empty trigger word")
		}
		toks, err := m.Tokenize(w, false, true)
		if err != nil {
			return nil, err
		}
		if len(toks) == 1 {
			lz.tokens = append(lz.tokens, toks[0])
			continue
		}
		lz.words = append(lz.words, []byte(w))
		patterns = append(patterns, regexp.QuoteMeta(w))
	}
	cPatterns := make([][]byte, len(patterns))
	ptrs := make([]*byte, len(patterns)+1) // one more, so &ptrs[0] exists even with no pattern
	for i, p := range patterns {
		cPatterns[i] = cString(p)
		ptrs[i] = &cPatterns[i][0]
	}
	var tokens *Token
	if len(lz.tokens) > 0 {
		tokens = &lz.tokens[0]
	}
	g, err := parseGrammar(m, gbnf, func() uintptr {
		return llamaSamplerInitGrammarLazyPatterns(m.vocab, gbnf, "root", &ptrs[0], uintptr(len(patterns)),
			tokens, uintptr(len(lz.tokens)))
	})
	runtime.KeepAlive(cPatterns)
	if err != nil {
		return nil, err
	}
	g.lazy = lz
	return g, nil
}

// await follows the trigger for t, the next token of a state still waiting for one, as llama.cpp does on
// accepting it: a trigger token starts the grammar at its own text; any other token's text is added to the
// text so far, and the first trigger word found in it starts the grammar there. It refuses t when the text
// the grammar would start with does not fit the grammar.
func (s *GrammarState) await(t Token) error {
	piece := []byte(s.model.TokenText(t))
	if slices.Contains(s.lazy.tokens, t) {
		if !s.lazy.fits(s.model, piece) {
			return fmt.Errorf("llama: grammar: the trigger %q does not start the grammar", piece)
		}
		s.awaiting, s.text = false, nil
		return nil
	}
	text := append(s.text, piece...)
	for _, w := range s.lazy.words {
		if i := bytes.Index(text, w); i >= 0 {
			if !s.lazy.fits(s.model, text[i:]) {
				return fmt.Errorf("llama: grammar: token %d (%q) completes the trigger %q with text the grammar does not allow", t, piece, w)
			}
			s.awaiting, s.text = false, nil
			return nil
		}
	}
	s.text = text
	return nil
}

// fits reports whether the grammar can start with text: it walks a fresh state of the grammar through
// text one byte at a time, by the vocabulary's tokens of single bytes.
func (lz *triggers) fits(m *Model, text []byte) bool {
	bytesTok := m.byteTokens()
	s := lz.checker.NewState()
	defer s.Close()
	for _, b := range text {
		t := bytesTok[b]
		if t < 0 || !s.Allows(t) {
			return false
		}
		llamaSamplerAccept(s.ptr, t)
	}
	return true
}

// findByteTokens maps each byte to a token whose text is that byte alone, -1 where the vocabulary has none.
func (m *Model) findByteTokens() [256]Token {
	var table [256]Token
	for i := range table {
		table[i] = -1
	}
	for t := range Token(m.nVocab) {
		if p := m.TokenText(t); len(p) == 1 && table[p[0]] < 0 {
			table[p[0]] = t
		}
	}
	return table
}
