package toolcall

import (
	"encoding/json"
	"fmt"
	"strings"

	"custos/internal/grammar"
)

// Under tool_choice "auto" llama-server leaves the reply free until the model writes the family's trigger,
// and constrains the rest by a grammar of calls of the offered tools (a lazy grammar). The grammars and
// triggers here are those llama-server builds for each family's template, rule for rule in what they
// allow, so that the same seed writes the same call: its template analysis finds the markers a call opens
// and closes with, and the grammar writes each call as {"name": ..., "arguments": ...} with whitespace
// between all its parts.

// Triggers are the words from which llama-server's grammar applies under tool_choice "auto" to calls of
// tools: the opening of a Hermes call with its line break, the XML family's <tool_call> (and Qwen3-Coder's
// <function=NAME> of each tool, for the call whose <tool_call> the model leaves out), Mistral's
// [TOOL_CALLS]. Llama 3.x calls are bare JSON with no marker, and llama-server leaves them unconstrained:
// none.
func Triggers(f Family, tools []Tool) []string {
	switch f {
	case Hermes:
		return []string{hermesOpen + "\n"}
	case QwenXML:
		return []string{hermesOpen}
	case QwenCoder:
		triggers := []string{hermesOpen}
		for _, t := range tools {
			triggers = append(triggers, xmlFunctionOpen+t.Name+">")
		}
		return triggers
	case Mistral:
		return []string{mistralOpen}
	}
	return nil
}

// Preserved are the markers of f's calls that llama-server writes out in the reply when the vocabulary
// has them as one control token (its preserved tokens), so that the calls can be read back: Hermes'
// and the XML family's <tool_call> and </tool_call>, Mistral's [TOOL_CALLS]. Llama 3.x has none.
func Preserved(f Family) []string {
	switch f {
	case Hermes, QwenXML, QwenCoder:
		return []string{hermesOpen, hermesClose}
	case Mistral:
		return []string{mistralOpen}
	}
	return nil
}

// LazyGrammar is the GBNF of what follows a trigger of Triggers(f) (the trigger included) in a reply of
// calls of tools under tool_choice "auto", as llama-server writes it:
//   - Hermes: one or more <tool_call> blocks, each of one call, or of several separated by commas when
//     parallel;
//   - Mistral: [TOOL_CALLS] and an array of one call, or of several when parallel, each call ending with
//     a comma and an optional "id" (llama-server's grammar requires that comma even without the id);
//   - the XML family: one call block, or several when parallel (see xml_grammar.go).
//
// The error is a schema the grammar converter refuses, or a family without a trigger.
func LazyGrammar(f Family, tools []Tool, parallel bool) (string, error) {
	if f == QwenXML || f == QwenCoder {
		return xmlLazyGrammar(f, tools, parallel)
	}
	b := grammar.NewBuilder()
	space := b.Space()
	var id string
	if f == Mistral {
		id = "(" + grammar.Literal(`"id"`) + " " + space + ` ":" ` + space + " " + callID(b) + ")?"
	}
	choices := make([]string, len(tools))
	for i, t := range tools {
		args, err := b.Schema(argumentsSchema(t.Parameters), "tool-"+t.Name+"-schema")
		if err != nil {
			return "", fmt.Errorf("tool %q: %w", t.Name, err)
		}
		name, _ := json.Marshal(t.Name)
		parts := []string{`"{"`, space, grammar.Literal(`"name"`), space, `":"`, space, grammar.Literal(string(name)),
			space, `","`, space, grammar.Literal(`"arguments"`), space, `":"`, space, args}
		if f == Mistral {
			parts = append(parts, space, `","`, space, id)
		}
		parts = append(parts, space, `"}"`)
		choices[i] = b.Rule("tool-"+t.Name, strings.Join(parts, " "))
	}
	calls := "(" + strings.Join(choices, " | ") + ")"
	if parallel {
		calls += " (" + space + ` "," ` + space + " " + calls + ")*"
	}
	switch f {
	case Hermes:
		call := b.Rule("tool-call", grammar.Literal(hermesOpen+"\n")+" "+space+" "+calls+" "+space+" "+grammar.Literal(hermesClose))
		several := b.Rule("tool-calls", "("+call+"? "+space+")+")
		return b.Grammar(call + " | " + several), nil
	case Mistral:
		call := b.Rule("tool-call", grammar.Literal(mistralOpen)+" "+space+` "[" `+space+" "+calls+" "+space+` "]" `+space)
		return b.Grammar(call), nil
	}
	return "", fmt.Errorf("the %s format has no trigger for a lazy grammar", f)
}

// callID is what llama-server's grammar allows for a Mistral call's id: a JSON string of any length, or
// any JSON number.
func callID(b *grammar.Builder) string {
	return b.Rule("tool-call-id", `"\"" ( [^"\\] | "\\" ( ["\\/ bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\"" | `+
		`"-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [+-]? [0-9]+)?`)
}
