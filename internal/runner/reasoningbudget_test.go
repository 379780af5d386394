package runner

import (
	"slices"
	"testing"

	"custos/internal/llama"
)

// Tokens of a made-up vocabulary: 1 and 2 spell the start marker, 3 and 4 the end marker, 9 the message.
const (
	tokStartA, tokStartB, tokEndA, tokEndB = 1, 2, 3, 4
	tokWord, tokHalfChar, tokRestOfChar    = 5, 6, 7
	tokMessage                             = 9
)

func budgetPiece(tok llama.Token) []byte {
	switch tok {
	case tokHalfChar:
		return []byte{0xE2, 0x82} // the first two bytes of "€"
	case tokRestOfChar:
		return []byte{0xAC}
	}
	return []byte("w")
}

func testBudget(tokens int, prefill ...llama.Token) *reasoningBudget {
	spec := &budgetSpec{start: []llama.Token{tokStartA, tokStartB}, end: []llama.Token{tokEndA, tokEndB},
		forced: []llama.Token{tokMessage, tokEndA, tokEndB}, tokens: tokens, prefill: prefill}
	return newReasoningBudget(spec, budgetPiece)
}

// generate runs the budget over what the model would write, taking the forced token whenever there is one,
// and returns the reply.
func generate(b *reasoningBudget, model ...llama.Token) []llama.Token {
	var out []llama.Token
	for len(model) > 0 {
		tok := model[0]
		if forced, ok := b.forcedToken(); ok {
			tok = forced
		} else {
			model = model[1:]
		}
		b.accept(tok, budgetPiece)
		out = append(out, tok)
	}
	for forced, ok := b.forcedToken(); ok; forced, ok = b.forcedToken() {
		b.accept(forced, budgetPiece)
		out = append(out, forced)
	}
	return out
}

func TestReasoningBudgetForcesTheEndOnceSpent(t *testing.T) {
	for name, c := range map[string]struct {
		budget  int
		prefill []llama.Token
		model   []llama.Token
		want    []llama.Token
	}{
		"opened by the generation prompt": {2, []llama.Token{tokStartA, tokStartB},
			[]llama.Token{tokWord, tokWord, tokWord}, []llama.Token{tokWord, tokWord, tokMessage, tokEndA, tokEndB, tokWord}},
		"opened by the model": {1, nil,
			[]llama.Token{tokWord, tokStartA, tokStartB, tokWord, tokWord},
			[]llama.Token{tokWord, tokStartA, tokStartB, tokWord, tokMessage, tokEndA, tokEndB, tokWord}},
		"a budget of 0 ends it at once": {0, []llama.Token{tokStartA, tokStartB},
			[]llama.Token{tokWord}, []llama.Token{tokMessage, tokEndA, tokEndB, tokWord}},
		"closed within the budget": {5, []llama.Token{tokStartA, tokStartB},
			[]llama.Token{tokWord, tokEndA, tokEndB, tokWord, tokWord, tokWord, tokWord, tokWord},
			[]llama.Token{tokWord, tokEndA, tokEndB, tokWord, tokWord, tokWord, tokWord, tokWord}},
		"closed by the generation prompt": {0, []llama.Token{tokStartA, tokStartB, tokEndA, tokEndB},
			[]llama.Token{tokWord, tokWord}, []llama.Token{tokWord, tokWord}},
		// Each piece is judged on its own, as llama-server does: one of continuation bytes only is not whole.
		"a character is finished first": {1, []llama.Token{tokStartA, tokStartB},
			[]llama.Token{tokHalfChar, tokRestOfChar, tokWord, tokWord},
			[]llama.Token{tokHalfChar, tokRestOfChar, tokWord, tokMessage, tokEndA, tokEndB, tokWord}},
		"a new reasoning gets a new budget": {1, []llama.Token{tokStartA, tokStartB},
			[]llama.Token{tokWord, tokStartA, tokStartB, tokWord, tokWord},
			[]llama.Token{tokWord, tokMessage, tokEndA, tokEndB, tokStartA, tokStartB, tokWord, tokMessage, tokEndA, tokEndB, tokWord}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := generate(testBudget(c.budget, c.prefill...), c.model...); !slices.Equal(got, c.want) {
				t.Fatalf("reply %v, want %v", got, c.want)
			}
		})
	}
}

func TestReasoningEndsOnControlOnlyWhileCounted(t *testing.T) {
	idle := testBudget(1 << 30)
	if idle.endNow() {
		t.Fatal("a reasoning not yet begun was ended")
	}
	b := testBudget(1<<30, tokStartA, tokStartB)
	generate(b, tokWord)
	if !b.endNow() {
		t.Fatal("a reasoning being counted was not ended")
	}
	if got := generate(b, tokWord); !slices.Equal(got, []llama.Token{tokMessage, tokEndA, tokEndB, tokWord}) {
		t.Fatalf("after the end: %v, want the forced end then the model's token", got)
	}
	if b.endNow() {
		t.Fatal("a reasoning already over was ended again")
	}
	var none *reasoningBudget
	if _, ok := none.forcedToken(); ok || none.endNow() {
		t.Fatal("no budget forced or ended anything")
	}
}

func TestUTF8CompleteJudgesEachPieceAsLlamaServer(t *testing.T) {
	for _, c := range []struct {
		piece []byte
		whole bool
	}{
		{nil, true}, {[]byte("a"), true}, {[]byte("€"), true}, {[]byte{0xE2, 0x82}, false},
		{[]byte{0xAC}, false}, {[]byte("a\xF0\x9F\x98"), false}, {[]byte("\xF0\x9F\x98\x80"), true},
	} {
		if got := utf8Complete(c.piece); got != c.whole {
			t.Errorf("utf8Complete(%q) = %v, want %v", c.piece, got, c.whole)
		}
	}
}

func TestABudgetOfTheWrongTypeIsNamedByItsField(t *testing.T) {
	f := runnerFor(t, false)
	f.expectRefusal(t, "/v1/chat/completions", chatBody("hi", map[string]any{"reasoning_budget_tokens": "many"}),
		`invalid type for "reasoning_budget_tokens"`)
}
