package llama

import (
	"slices"
	"testing"
)

var roundTripTexts = []string{
	"Hello world",
	"two  spaces, tabs\tand\nnew lines\n",
	"héllo wörld — ünïcödé",
	"emoji 🦙 and CJK 你好",
	"<|im_start|> looks special but is plain text here",
}

func TestTokenizeDetokenizeRoundTrip(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	for _, text := range roundTripTexts {
		tokens, err := m.Tokenize(text, false, false)
		if err != nil {
			t.Fatalf("Tokenize(%q): %v", text, err)
		}
		if len(tokens) == 0 {
			t.Fatalf("Tokenize(%q) gave no tokens", text)
		}
		got, err := m.Detokenize(tokens)
		if err != nil {
			t.Fatalf("Detokenize(Tokenize(%q)): %v", text, err)
		}
		if got != text {
			t.Errorf("Detokenize(Tokenize(%q)) = %q", text, got)
		}
	}
}

// TestTokenPiecesRebuildText checks that the raw pieces, which may split a UTF-8 sequence, concatenate to
// the text: this is how streamed output is assembled.
func TestTokenPiecesRebuildText(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	for _, text := range roundTripTexts {
		tokens, err := m.Tokenize(text, false, false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Detokenize(tokens)
		if err != nil {
			t.Fatal(err)
		}
		var pieces []byte
		for _, tok := range tokens {
			pieces = append(pieces, m.TokenPiece(tok)...)
		}
		if string(pieces) != got && string(pieces) != " "+got {
			t.Errorf("pieces of %q concatenate to %q", text, pieces)
		}
	}
}

func TestTokenizeSpecialTokens(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	withBOS, err := m.Tokenize("hi", true, false)
	if err != nil {
		t.Fatal(err)
	}
	if withBOS[0] != m.BOS() {
		t.Errorf("Tokenize(hi, addSpecial) = %v, want it to start with BOS %d", withBOS, m.BOS())
	}
	plain, err := m.Tokenize("hi", false, false)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(plain, m.BOS()) {
		t.Errorf("Tokenize(hi) without addSpecial = %v, contains BOS", plain)
	}
	if len(m.TokenPiece(m.EOS())) != 0 {
		t.Errorf("TokenPiece(EOS) = %q, want no text for a control token", m.TokenPiece(m.EOS()))
	}
	if !m.IsEOG(m.EOS()) {
		t.Error("IsEOG(EOS) = false")
	}
	if m.IsEOG(plain[0]) {
		t.Errorf("IsEOG(%d) = true for an ordinary token", plain[0])
	}
}

func TestTokenizeEmptyText(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	tokens, err := m.Tokenize("", false, false)
	if err != nil || len(tokens) != 0 {
		t.Fatalf("Tokenize(\"\") = %v, %v; want no tokens", tokens, err)
	}
	text, err := m.Detokenize(nil)
	if err != nil || text != "" {
		t.Fatalf("Detokenize(nil) = %q, %v", text, err)
	}
}

// TestEOGTokensListsTheEndsOfGeneration: every token EOGTokens lists ends generation, the model's EOS among
// them, and no other token does.
func TestEOGTokensListsTheEndsOfGeneration(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	eog := m.EOGTokens()
	if !slices.Contains(eog, m.EOS()) {
		t.Fatalf("EOGTokens() = %v lacks EOS %d", eog, m.EOS())
	}
	for tok := range Token(m.NVocab()) {
		if m.IsEOG(tok) != slices.Contains(eog, tok) {
			t.Errorf("token %d: IsEOG %v, listed %v", tok, m.IsEOG(tok), slices.Contains(eog, tok))
		}
	}
}
