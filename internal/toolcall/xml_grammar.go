package toolcall

import (
	"fmt"
	"strconv"
	"strings"

	"custos/internal/grammar"
)

// The grammar of the XML family's calls, as llama-server's Qwen3-Coder parser builds it, rule for rule in
// what it allows:
//
//	call     ::= "<tool_call>\n" function "</tool_call>" space
//	function ::= "<function=NAME>\n" arguments "</function>\n"          (one per tool)
//	argument ::= "<parameter=KEY>\n" value
//
// A tool's required parameters come in any order (in the order of its schema past six of them), then any
// number of its optional ones. A value the schema allows no string for is its JSON followed by
// "\n</parameter>\n"; any other is text up to and including the first "\n</parameter>\n".

// maxPermuted is how many required parameters llama-server lets come in any order; past it they come in
// the schema's order.
const maxPermuted = 6

// xmlGrammar builds the rules of the XML family's calls.
type xmlGrammar struct {
	b *grammar.Builder
	// text is the rule of a value written as text with its closing tag, shared by every such value.
	text string
}

// xmlCalls adds the rules of one call of one of tools, its <tool_call> opening left out, and returns the
// expression of that rest of the call.
func xmlCalls(b *grammar.Builder, tools []Tool) (string, error) {
	g := &xmlGrammar{b: b}
	choices := make([]string, len(tools))
	for i, t := range tools {
		args, err := g.arguments(t)
		if err != nil {
			return "", fmt.Errorf("tool %q: %w", t.Name, err)
		}
		parts := []string{grammar.Literal(xmlFunctionOpen + t.Name + ">\n")}
		if args != "" {
			parts = append(parts, args)
		}
		parts = append(parts, grammar.Literal(xmlFunctionClose+"\n"))
		choices[i] = b.Rule("tool-"+t.Name, strings.Join(parts, " "))
	}
	return "(" + strings.Join(choices, " | ") + ") " + grammar.Literal(hermesClose) + " " + b.Space(), nil
}

// arguments adds the rules of a tool's arguments and returns their expression ("" for none).
func (g *xmlGrammar) arguments(t Tool) (string, error) {
	b := g.b
	var required, optional []string
	for _, p := range xmlParams(t.Parameters) {
		rule := "tool-" + t.Name + "-arg-" + p.name
		value, err := g.value(p, rule)
		if err != nil {
			return "", fmt.Errorf("parameter %q: %w", p.name, err)
		}
		arg := b.Rule(rule, grammar.Literal(xmlParameterOpen+p.name+">\n")+" "+value)
		if p.required {
			required = append(required, arg)
		} else {
			optional = append(optional, arg)
		}
	}
	args := permuted(b, "tool-"+t.Name+"-args", required)
	if len(optional) > 0 {
		args = strings.TrimSpace(args + " (" + strings.Join(optional, " | ") + ")*")
	}
	return args, nil
}

// value is the expression of a parameter's value with its closing tag. A schema that allows strings and
// other types gets the text rule alone, as in llama-server's grammar: text takes any value.
func (g *xmlGrammar) value(p xmlParam, rule string) (string, error) {
	if !p.noString() {
		if g.text == "" {
			g.text = g.b.Through("xml-arg-string", xmlValueEnd)
		}
		return g.text, nil
	}
	value, err := g.b.Schema(p.schema, rule+"-schema")
	if err != nil {
		return "", err
	}
	return value + " " + grammar.Literal(xmlValueEnd), nil
}

// permuted is the expression of args in any order, by a rule for each set of them still to come; past
// maxPermuted, or for one, in the order given.
func permuted(b *grammar.Builder, prefix string, args []string) string {
	if len(args) <= 1 || len(args) > maxPermuted {
		return strings.Join(args, " ")
	}
	rules := map[uint32]string{}
	var remaining func(set uint32) string
	remaining = func(set uint32) string {
		if set == 0 {
			return ""
		}
		if name, ok := rules[set]; ok {
			return name
		}
		var alts []string
		for i, arg := range args {
			if bit := uint32(1) << i; set&bit != 0 {
				alts = append(alts, strings.TrimSpace(arg+" "+remaining(set&^bit)))
			}
		}
		rules[set] = b.Rule(prefix+"-"+strconv.FormatUint(uint64(set), 10), strings.Join(alts, " | "))
		return rules[set]
	}
	return remaining(1<<len(args) - 1)
}

// xmlLazyGrammar is the grammar of the XML family's calls from a trigger on: one call block, or several
// when parallel; under QwenCoder the first may leave out its <tool_call>.
func xmlLazyGrammar(f Family, tools []Tool, parallel bool) (string, error) {
	b := grammar.NewBuilder()
	rest, err := xmlCalls(b, tools)
	if err != nil {
		return "", err
	}
	body := b.Rule("tool-call-body", rest)
	call := b.Rule("tool-call", grammar.Literal(hermesOpen+"\n")+" "+body)
	first := call
	if f == QwenCoder {
		first = b.Rule("tool-call-first", "("+grammar.Literal(hermesOpen+"\n")+")? "+body)
	}
	if parallel {
		return b.Grammar(first + " " + call + "*"), nil
	}
	return b.Grammar(first), nil
}

// xmlForcedGrammar is the grammar of what follows Opening in a reply that must call one of tools: the rest
// of one call block, and, when parallel, further blocks.
func xmlForcedGrammar(tools []Tool, parallel bool) (string, error) {
	b := grammar.NewBuilder()
	rest, err := xmlCalls(b, tools)
	if err != nil {
		return "", err
	}
	body := b.Rule("tool-call-body", rest)
	if !parallel {
		return b.Grammar(body), nil
	}
	return b.Grammar(body + " (" + grammar.Literal(hermesOpen+"\n") + " " + body + ")*"), nil
}
