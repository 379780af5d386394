package llama

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLongRuleChainWithinTheSizeLimitDoesNotOverflow parses and walks the deepest chain of rules that
// fits MaxGrammarBytes: llama.cpp recurses once per chained rule, on the C stack.
func TestLongRuleChainWithinTheSizeLimitDoesNotOverflow(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	var b strings.Builder
	b.WriteString("root ::= r0\n")
	n := 0
	for ; ; n++ {
		line := fmt.Sprintf("r%d ::= r%d\n", n, n+1)
		if b.Len()+len(line)+32 > MaxGrammarBytes {
			break
		}
		b.WriteString(line)
	}
	fmt.Fprintf(&b, "r%d ::= \"x\"\n", n)
	g, err := ParseGrammar(m, b.String())
	if err != nil {
		t.Fatalf("a chain of %d rules: %v", n, err)
	}
	if !grammarAccepts(t, m, g, "x") || grammarAccepts(t, m, g, "y") {
		t.Fatalf("a chain of %d rules does not take exactly \"x\"", n)
	}
	t.Logf("a chain of %d rules", n)
}

// TestManyRepetitionsWithinTheLimitParseQuickly parses a grammar at the repetition limit.
func TestManyRepetitionsWithinTheLimitParseQuickly(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	gbnf := "root ::= " + strings.Repeat(`"a"{0,2000} `, maxGrammarExpansions/2000)
	start := time.Now()
	g, err := ParseGrammar(m, gbnf)
	if err != nil {
		t.Fatal(err)
	}
	if !grammarAccepts(t, m, g, "aaa") {
		t.Fatal(`the grammar does not take "aaa"`)
	}
	t.Logf("%d repetitions parsed and matched in %v", maxGrammarExpansions, time.Since(start))
}
