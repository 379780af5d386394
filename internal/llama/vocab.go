package llama

import (
	"fmt"
	"math"
	"unsafe"
)

// BOS is the model's beginning-of-sequence token.
func (m *Model) BOS() Token { return llamaVocabBOS(m.vocab) }

// EOS is the model's end-of-sequence token.
func (m *Model) EOS() Token { return llamaVocabEOS(m.vocab) }

// IsEOG reports whether t ends generation (end of sequence, end of turn, ...).
func (m *Model) IsEOG(t Token) bool { return llamaVocabIsEOG(m.vocab, t) }

// EOGTokens lists every token that ends generation, in id order.
func (m *Model) EOGTokens() []Token {
	var out []Token
	for t := range Token(m.nVocab) {
		if m.IsEOG(t) {
			out = append(out, t)
		}
	}
	return out
}

// Tokenize turns text into tokens. addSpecial adds the BOS/EOS tokens the model asks for; parseSpecial
// recognises special-token text such as "<|im_start|>" as the special token rather than as plain text.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) ([]Token, error) {
	if len(text) > math.MaxInt32 {
		return nil, fmt.Errorf("llama: tokenize: text of %d bytes is too long", len(text))
	}
	var textPtr *byte
	if len(text) > 0 {
		textPtr = unsafe.StringData(text)
	}
	// A byte-level vocabulary never yields more tokens than bytes, plus BOS and EOS; others tell the
	// size they need with a negative result.
	tokens := make([]Token, len(text)+2)
	for range 2 {
		n := llamaTokenize(m.vocab, textPtr, int32(len(text)), &tokens[0], int32(len(tokens)), addSpecial, parseSpecial)
		switch {
		case n == math.MinInt32:
			return nil, fmt.Errorf("llama: tokenize: more tokens than fit an int32")
		case n >= 0:
			return tokens[:n], nil
		}
		tokens = make([]Token, -n)
	}
	return nil, fmt.Errorf("llama: tokenize: the token count changed between two calls")
}

// TokenPiece returns the text of one token as raw bytes, which may be part of a UTF-8 sequence that the next
// tokens complete. Control tokens (BOS, EOS, end of turn) give no text, as in llama-server's completions.
func (m *Model) TokenPiece(t Token) []byte {
	buf := make([]byte, 16)
	for {
		n := llamaTokenToPiece(m.vocab, t, &buf[0], int32(len(buf)), 0, false)
		if n >= 0 {
			return buf[:n]
		}
		buf = make([]byte, -n)
	}
}

// TokenPieceSpecial is TokenPiece with control tokens written as their text ("<|im_start|>").
func (m *Model) TokenPieceSpecial(t Token) []byte {
	buf := make([]byte, 16)
	for {
		n := llamaTokenToPiece(m.vocab, t, &buf[0], int32(len(buf)), 0, true)
		if n >= 0 {
			return buf[:n]
		}
		buf = make([]byte, -n)
	}
}

// Detokenize turns tokens back into text, the inverse of Tokenize(text, addSpecial, true): the BOS/EOS tokens
// the model adds are dropped and other special tokens appear as their text. After a BOS, a SentencePiece
// vocabulary keeps the space it put in front of the first word (llama.cpp's behaviour).
func (m *Model) Detokenize(tokens []Token) (string, error) { return m.detokenize(tokens, true) }

// detokenize is llama_detokenize, which drops the BOS/EOS tokens when removeSpecial and writes every other
// control token's text.
func (m *Model) detokenize(tokens []Token, removeSpecial bool) (string, error) {
	if len(tokens) == 0 {
		return "", nil
	}
	if len(tokens) > math.MaxInt32 {
		return "", fmt.Errorf("llama: detokenize: %d tokens are too many", len(tokens))
	}
	buf := make([]byte, min(8*len(tokens)+16, math.MaxInt32))
	for range 2 {
		n := llamaDetokenize(m.vocab, &tokens[0], int32(len(tokens)), &buf[0], int32(len(buf)), removeSpecial, true)
		if n >= 0 {
			return string(buf[:n]), nil
		}
		buf = make([]byte, -n)
	}
	return "", fmt.Errorf("llama: detokenize: the text length changed between two calls")
}
