package llama

import (
	"strings"
	"testing"
)

// takes feeds the tokens of text (special-token text read as the token) to a fresh state of g and
// reports whether it took them all.
func takes(t *testing.T, m *Model, g *Grammar, text string) bool {
	t.Helper()
	s, ok := fedState(t, m, g, text, true)
	s.Close()
	return ok
}

// A trigger word of several tokens starts the grammar when the text comes to hold it; before, anything goes.
func TestLazyGrammarAppliesAfterItsTriggerWord(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	g, err := ParseLazyGrammar(m, `root ::= "<call>" [0-9]+ "</call>"`, []string{"<call>"})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{"free text <call>12</call>": true, "free text, no call": true,
		"text <call>x</call>": false, "<call>12</call> and more": false} {
		if got := takes(t, m, g, text); got != want {
			t.Errorf("lazy grammar takes %q: %v, want %v", text, got, want)
		}
	}
}

// A trigger word that is one token of the vocabulary triggers on that token.
func TestLazyGrammarAppliesAfterItsTriggerToken(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	if toks, _ := m.Tokenize("<|im_start|>", false, true); len(toks) != 1 {
		t.Fatalf("<|im_start|> is %d tokens in the test vocabulary, want 1", len(toks))
	}
	g, err := ParseLazyGrammar(m, `root ::= "<|im_start|>" [a-z]+`, []string{"<|im_start|>"})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{"hi <|im_start|>abc": true, "hi, no trigger": true,
		"hi <|im_start|>ABC": false} {
		if got := takes(t, m, g, text); got != want {
			t.Errorf("lazy grammar takes %q: %v, want %v", text, got, want)
		}
	}
}

// A token may complete the trigger word and carry more text. When that text does not fit the grammar,
// llama.cpp would throw from inside its accept and end the process; the state refuses the token instead.
func TestLazyGrammarRefusesATriggerTheGrammarCannotContinue(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	// "to the" is the tokens "to" and " the": the second completes the trigger "o t" and brings "he".
	if toks, _ := m.Tokenize("to the", false, false); len(toks) != 2 {
		t.Fatalf("\"to the\" is %d tokens in the test vocabulary, want 2", len(toks))
	}
	strict, err := ParseLazyGrammar(m, `root ::= "o t" "x"`, []string{"o t"})
	if err != nil {
		t.Fatal(err)
	}
	if takes(t, m, strict, "to the") {
		t.Error(`the token " the" completes the trigger "o t" with "he", which the grammar refuses, and was taken`)
	}
	loose, err := ParseLazyGrammar(m, `root ::= "o t" [a-z]*`, []string{"o t"})
	if err != nil {
		t.Fatal(err)
	}
	if !takes(t, m, loose, "to the") {
		t.Error(`"to the" fits the grammar from the trigger on, and was refused`)
	}
}

func TestParseLazyGrammarNeedsATrigger(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	for _, words := range [][]string{nil, {""}} {
		if _, err := ParseLazyGrammar(m, `root ::= "a"`, words); err == nil || !strings.Contains(err.Error(), "trigger") {
			t.Errorf("trigger words %q: err %v, want one about the trigger", words, err)
		}
	}
	if _, err := ParseLazyGrammar(m, `root ::= "a"`, nil, Token(m.NVocab())); err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("a trigger token outside the vocabulary: err %v", err)
	}
}

// A trigger given as a token starts the grammar at that token, whatever its text.
func TestLazyGrammarAppliesAfterATriggerTokenGiven(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	start, err := m.Tokenize("<|im_start|>", false, true)
	if err != nil || len(start) != 1 {
		t.Fatalf("<|im_start|> is %v (%v)", start, err)
	}
	g, err := ParseLazyGrammar(m, `root ::= "<|im_start|>" [a-z]+`, nil, start[0])
	if err != nil {
		t.Fatal(err)
	}
	if !takes(t, m, g, "hi <|im_start|>abc") || takes(t, m, g, "hi <|im_start|>ABC") {
		t.Error("the trigger token did not start the grammar")
	}
}
