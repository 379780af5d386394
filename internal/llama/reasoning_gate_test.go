package llama

import (
	"runtime"
	"testing"
	"time"
)

// A lazy grammar held back while the model reasons: a trigger between the reasoning's markers starts no
// call, one after the end marker does, and a prompt that opens the reasoning holds it from the start.
func TestLazyGrammarHeldWhileReasoning(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	g, err := ParseLazyGrammar(m, `root ::= "<call>" [0-9]+`, []string{"<call>"})
	if err != nil {
		t.Fatal(err)
	}
	tok := func(s string) []Token {
		toks, err := m.Tokenize(s, false, true)
		if err != nil {
			t.Fatal(err)
		}
		return toks
	}
	tags := ReasoningTags{Start: tok("<|im_start|>"), Ends: [][]Token{tok("<|im_end|>")}}
	opened := tags
	opened.Prompt = tok("assistant<|im_start|>")
	for _, tc := range []struct {
		name string
		tags ReasoningTags
		text string
		want bool
	}{
		{"a trigger in the reasoning", tags, "hi <|im_start|>so <call>x<|im_end|>ok", true},
		{"a call after the reasoning", tags, "<|im_start|>so <call>x<|im_end|> <call>12", true},
		{"a bad call after the reasoning", tags, "<|im_start|>so<|im_end|> <call>x", false},
		{"a bad call before any reasoning", tags, "<call>x", false},
		{"reasoning opened by the prompt", opened, "so <call>x<|im_end|> <call>3", true},
		{"a bad call after reasoning the prompt opened", opened, "so<|im_end|><call>y", false},
	} {
		if got := takes(t, m, g.HeldWhileReasoning(tc.tags), tc.text); got != tc.want {
			t.Errorf("%s: %q taken %v, want %v", tc.name, tc.text, got, tc.want)
		}
	}
	if !takes(t, m, g.HeldWhileReasoning(ReasoningTags{Ends: tags.Ends}), "<|im_start|>so") ||
		takes(t, m, g.HeldWhileReasoning(ReasoningTags{Ends: tags.Ends}), "<|im_start|><call>x") {
		t.Error("without a start marker the grammar must never be held")
	}
}

// TestAHeldGrammarOutlivesTheGrammarItCameFrom: the grammar HeldWhileReasoning returns keeps working once
// the one it was made from is garbage. The parsed sampler used to belong to that one: the collector freed
// it under the held copy, whose sequences then cloned freed memory (here: a later grammar's sampler, which
// took its place) or crashed the runner.
func TestAHeldGrammarOutlivesTheGrammarItCameFrom(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	held := func() *Grammar {
		g, err := ParseLazyGrammar(m, `root ::= "<call>" [0-9]+`, []string{"<call>"})
		if err != nil {
			t.Fatal(err)
		}
		return g.HeldWhileReasoning(ReasoningTags{})
	}()
	var others []*Grammar
	for range 5 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond) // cleanups run on a goroutine of their own
		g, err := ParseLazyGrammar(m, `root ::= "<call>" [a-z]+`, []string{"<call>"})
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, g)
	}
	if !takes(t, m, held, "<call>12") || takes(t, m, held, "<call>ab") {
		t.Fatal("the held grammar no longer takes what it was parsed from")
	}
	runtime.KeepAlive(others)
}
