package runner

import (
	"regexp"
	"strconv"
	"strings"

	"custos/internal/grammar"
	"custos/internal/llama"
)

// A thinking model asked for JSON (json_schema, response_format, text.format) reasons first and answers
// in JSON after its reasoning, as llama-server's grammar lets it: the request's grammar is put after a
// rule that takes any text up to the reasoning's end marker. Without it the JSON would be written inside
// the reasoning, and the reply's content would be empty. A client's own "grammar" still constrains the
// whole reply, as in llama-server.

var rootRule = regexp.MustCompile(`(?m)^root(\s*::=)`)

// reasonFirst wraps p's JSON grammar for a thinking reply; it does nothing for other requests.
func (e *engine) reasonFirst(p *genParams, reply *replyFormat) *apiError {
	if p.grammar == "" || p.grammarField == "grammar" || reply == nil || reply.thinking == nil {
		return nil
	}
	gbnf, ok := afterReasoning(p.grammar, reply.thinking, "")
	if !ok {
		return nil
	}
	g, err := llama.ParseGrammar(e.model, gbnf)
	if err != nil {
		return serverError(err)
	}
	p.sampler.Grammar, p.grammar, p.reasoningFirst = g, gbnf, true
	return nil
}

// afterReasoning is gbnf preceded by a thinking reply's reasoning, up to its end marker, then whitespace
// and the text then; false when the reply cannot reason first (the generation prompt closed the
// reasoning, or the template has no end marker).
func afterReasoning(gbnf string, thinking *thinkingReply, then string) (string, bool) {
	start, end := strings.TrimSpace(thinking.tags.start), strings.TrimSpace(thinking.tags.end)
	if end == "" {
		return "", false
	}
	// The added rules take a name the grammar has nowhere, so that none of its rules is shadowed.
	name := "reasoning"
	for i := 2; strings.Contains(gbnf, name); i++ {
		name = "reasoning" + strconv.Itoa(i)
	}
	space, answer := name+"-space", name+"-answer"
	var lead string
	switch opened := thinking.opened; {
	case start == "":
		// A template that only closes the reasoning: every reply reasons first.
		lead = name + " " + space
	case opened == "":
		// The model opens its reasoning itself, if it does.
		lead = "(" + space + " " + grammar.Literal(start) + " " + name + ")? " + space
	case strings.Contains(opened[len(start):], end):
		return "", false // the generation prompt closed the reasoning (enable_thinking false)
	default:
		lead = name + " " + space
	}
	if then != "" {
		lead += " " + grammar.Literal(then)
	}
	return "root ::= " + lead + " " + answer + "\n" +
		rootRule.ReplaceAllString(gbnf, answer+"$1") +
		grammar.Through(name, end) +
		space + " ::= [ \\t\\n]*\n", true
}

// wholeReplyGrammar is the grammar that binds the reply's reasoning too; "" when there is none, or when
// the reasoning comes before it.
func (p genParams) wholeReplyGrammar() string {
	if p.reasoningFirst {
		return ""
	}
	return p.grammar
}
