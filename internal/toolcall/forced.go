package toolcall

import (
	"encoding/json"
	"strings"

	"custos/internal/grammar"
)

// A call the client requires (tool_choice "required" or a named function) is written under a grammar:
// the prompt ends with the family's opening marker, and the grammar of CallSchema makes the model's output
// a well-formed call of one of the tools, with arguments that follow its schema.

// Opening is the marker that opens a family's tool calls, for a prompt that ends with it when a grammar
// writes the calls' JSON (see CallSchema). Llama 3.x calls have none: they are bare JSON.
func Opening(f Family) string {
	switch f {
	case Hermes, QwenXML, QwenCoder:
		return hermesOpen + "\n"
	case Mistral:
		return mistralOpen
	}
	return ""
}

// Tool is what CallSchema needs of a tool: its name and the JSON Schema of its arguments (nil: any object).
type Tool struct {
	Name       string
	Parameters json.RawMessage
}

// CallSchema is the JSON Schema of what follows Opening in a call of one of tools, in f's format: one call
// object {"name", "arguments"} ("parameters" for Llama 3.x) whose name is a tool's and whose arguments
// follow that tool's schema; for Mistral, an array of such calls, of one call unless parallel.
func CallSchema(f Family, tools []Tool, parallel bool) ([]byte, error) {
	key := strings.Trim(argsKey(f), `"`)
	calls := make([]any, len(tools))
	for i, t := range tools {
		params := argumentsSchema(t.Parameters)
		calls[i] = map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"name": map[string]any{"const": t.Name}, key: params},
			"required":             []string{"name", key},
			"additionalProperties": false,
		}
	}
	var call any = map[string]any{"anyOf": calls}
	if len(calls) == 1 {
		call = calls[0]
	}
	if f == Mistral {
		list := map[string]any{"type": "array", "items": call, "minItems": 1}
		if !parallel {
			list["maxItems"] = 1
		}
		call = list
	}
	return json.Marshal(call)
}

// ForcedGrammar is the GBNF of what follows Opening(f) in a reply that must call one of tools: the JSON of
// CallSchema, and, for Hermes when parallel, further calls after it, separated by commas as llama-server's
// grammar writes parallel calls in one block (Parse reads them). A Mistral array holds its parallel calls
// itself; a Llama 3.x template renders one call only, so its reply is one. The XML family's is the rest of
// the call block its grammar writes, then further blocks when parallel. The error is a schema the grammar
// converter refuses.
func ForcedGrammar(f Family, tools []Tool, parallel bool) (string, error) {
	if f == QwenXML || f == QwenCoder {
		return xmlForcedGrammar(tools, parallel)
	}
	schema, err := CallSchema(f, tools, parallel)
	if err != nil {
		return "", err
	}
	if f != Hermes || !parallel {
		return grammar.FromJSONSchema(schema)
	}
	b := grammar.NewBuilder()
	call, err := b.Schema(schema, "tool-call")
	if err != nil {
		return "", err
	}
	space := b.Space()
	return b.Grammar(call + " (" + space + ` "," ` + space + " " + call + ")*"), nil
}

// argumentsSchema is a tool's parameters schema made to describe an object, as a call's arguments are.
// No parameters, or {}, is a function without arguments, as OpenAI defines it: its arguments are {}. A
// schema without "type" (clients leave it out) would as JSON Schema allow any value, and a call whose
// arguments are not an object is no call.
func argumentsSchema(params json.RawMessage) json.RawMessage {
	const noArguments = `{"type":"object","properties":{},"additionalProperties":false}`
	var schema map[string]any
	if json.Unmarshal(params, &schema) != nil || len(schema) == 0 {
		return json.RawMessage(noArguments)
	}
	if _, typed := schema["type"]; typed {
		return params
	}
	schema["type"] = "object"
	b, err := json.Marshal(schema)
	if err != nil {
		return json.RawMessage(noArguments)
	}
	return b
}
