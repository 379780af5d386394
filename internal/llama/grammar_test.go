package llama

import (
	"strings"
	"testing"
)

// grammarAccepts reports whether g takes text whole and may end after it, feeding its tokens one by one.
func grammarAccepts(t *testing.T, m *Model, g *Grammar, text string) bool {
	t.Helper()
	s, ok := fedState(t, m, g, text, false)
	defer s.Close()
	return ok && s.Allows(m.EOS())
}

// fedState feeds the tokens of text (special-token text read as the token when parseSpecial) to a fresh
// state of g, and reports whether it took them all; the caller closes the state.
func fedState(t *testing.T, m *Model, g *Grammar, text string, parseSpecial bool) (*GrammarState, bool) {
	t.Helper()
	toks, err := m.Tokenize(text, false, parseSpecial)
	if err != nil {
		t.Fatal(err)
	}
	s := g.NewState()
	for _, tok := range toks {
		if s.Accept(tok) != nil {
			return s, false
		}
	}
	return s, true
}

func TestGrammarAcceptsItsLanguageOnly(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	g, err := ParseGrammar(m, `root ::= "yes" | "no" | "n" [0-9]{2,3}`)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{"yes": true, "no": true, "n12": true, "n123": true,
		"ye": false, "yess": false, "n1": false, "n1234": false, "maybe": false, " yes": false} {
		if got := grammarAccepts(t, m, g, text); got != want {
			t.Errorf("grammar takes %q: %v, want %v", text, got, want)
		}
	}
}

func TestParseGrammarRefusesBadGrammars(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	for name, tc := range map[string]struct{ gbnf, want string }{
		"syntax":               {`root ::= "yes`, "failed to parse grammar"},
		"no root":              {`answer ::= "yes"`, "does not contain a 'root' symbol"},
		"undefined rule":       {`root ::= answer`, "failed to parse grammar"},
		"left recursion":       {`root ::= root "a" | "b"`, "left recursion"},
		"empty":                {"  \n", "empty"},
		"too deep":             {"root ::= " + strings.Repeat("(", 100) + `"a"` + strings.Repeat(")", 100), "nested more than"},
		"too long":             {`root ::= "` + strings.Repeat("a", MaxGrammarBytes) + `"`, "more than the"},
		"reversed repetition":  {`root ::= "a"{6,2}`, "maximum below its minimum"},
		"too many repetitions": {"root ::= " + strings.Repeat(`"a"{0,2000} `, 51), "expand to more than"},
	} {
		t.Run(name, func(t *testing.T) {
			g, err := ParseGrammar(m, tc.gbnf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseGrammar = %v, %v; want an error containing %q", g, err, tc.want)
			}
		})
	}
}

// TestGrammarDepthIgnoresQuotedParentheses checks that parentheses inside literals, classes and comments
// do not count as nesting.
func TestGrammarDepthIgnoresQuotedParentheses(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	many := strings.Repeat("(", 100)
	gbnf := "# " + many + "\nroot ::= \"" + many + "\" [(]? \"\\\"(\"\n"
	g, err := ParseGrammar(m, gbnf)
	if err != nil {
		t.Fatal(err)
	}
	if !grammarAccepts(t, m, g, many+`"(`) {
		t.Errorf("grammar %q does not take its own text", gbnf)
	}
}

func TestAcceptRefusesAForbiddenTokenWithoutAborting(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	g, err := ParseGrammar(m, `root ::= "a"`)
	if err != nil {
		t.Fatal(err)
	}
	s := g.NewState()
	defer s.Close()
	if err := s.Accept(m.EOS()); err == nil {
		t.Fatal("Accept took end of sequence before the grammar's end")
	}
	b := tokens(t, m, "b")
	if err := s.Accept(b[len(b)-1]); err == nil {
		t.Fatal(`Accept took "b" where only "a" is allowed`)
	}
}

func TestSamplingUnderAGrammarFollowsIt(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	g, err := ParseGrammar(m, `root ::= "{\"answer\": " ("\"yes\"" | "\"no\"" | [0-9]{1,3}) "}"`)
	if err != nil {
		t.Fatal(err)
	}
	prompt := tokens(t, m, testPrompt)
	for _, p := range []SamplerParams{
		{Grammar: g},
		{Grammar: g, Seed: 3, Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1},
		{Grammar: g, Seed: 4, Temperature: 1.5},
	} {
		text, ended := generateUntilEOG(t, m, prompt, p, 40)
		if !ended {
			t.Errorf("%+v: no end of generation within 40 tokens; text %q", p, text)
			continue
		}
		if !grammarAccepts(t, m, g, text) {
			t.Errorf("%+v: generated %q, which the grammar does not take", p, text)
		}
		t.Logf("seed %d, temperature %g: %q", p.Seed, p.Temperature, text)
	}
}

// generateUntilEOG samples with p after prompt until an end-of-generation token or n tokens, and returns
// the text and whether it ended.
func generateUntilEOG(t *testing.T, m *Model, prompt []Token, p SamplerParams, n int) (string, bool) {
	t.Helper()
	c := newContext(t, m, ContextParams{NCtx: 256})
	b := newBatch(t, len(prompt), 1)
	s := NewSampler(m, p)
	defer s.Close()
	for _, tok := range prompt {
		s.Accept(tok) // prompt tokens go to the penalties, not to the grammar
	}
	fillPrompt(b, prompt, 0, 0)
	decode(t, c, b)
	var text strings.Builder
	for pos := int32(len(prompt)); pos < int32(len(prompt)+n); pos++ {
		tok := s.Sample(c, int32(b.Len()-1))
		if m.IsEOG(tok) {
			return text.String(), true
		}
		text.Write(m.TokenPiece(tok))
		b.Clear()
		b.Add(tok, pos, []int32{0}, true)
		decode(t, c, b)
	}
	return text.String(), false
}

func TestSeededSamplingUnderAGrammarIsDeterministic(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	g, err := ParseGrammar(m, `root ::= [a-z ]{5,30} "."`)
	if err != nil {
		t.Fatal(err)
	}
	prompt := tokens(t, m, testPrompt)
	p := SamplerParams{Grammar: g, Seed: 99, Temperature: 1, TopK: 40}
	first, _ := generateUntilEOG(t, m, prompt, p, 40)
	second, _ := generateUntilEOG(t, m, prompt, p, 40)
	if first != second {
		t.Fatalf("runs with seed %d differ: %q and %q", p.Seed, first, second)
	}
}
