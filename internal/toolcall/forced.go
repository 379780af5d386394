package toolcall

import (
	"encoding/json"
	"strings"
)

// A call the client requires (tool_choice "required" or a named function) is written under a grammar:
// the prompt ends with the family's opening marker, and the grammar of CallSchema makes the model's output
// a well-formed call of one of the tools, with arguments that follow its schema.

// Opening is the marker that opens a family's tool calls, for a prompt that ends with it when a grammar
// writes the calls' JSON (see CallSchema). Llama 3.x calls have none: they are bare JSON.
func Opening(f Family) string {
	switch f {
	case Hermes:
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
		params := t.Parameters
		if len(params) == 0 || string(params) == "null" {
			params = json.RawMessage(`{"type":"object"}`)
		}
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
