package chattemplate

import (
	"strings"
	"time"
)

// Probe markers: a tool call argument whose key and value no real conversation contains.
const (
	probeKey   = "custos_probe_argument"
	probeValue = "custos_probe_value"
)

// usesObjectArguments says whether the template wants a tool call's arguments as an object: most
// (Qwen 2.5, Llama 3.x, Mistral Nemo) print them with tojson, which turns a JSON string into a quoted
// string. Like llama.cpp, it learns this by rendering a conversation with one call whose arguments are an
// object, and looking for them serialized as JSON in the prompt.
func (t *Template) usesObjectArguments() bool {
	t.objectArgsOnce.Do(func() {
		out, err := t.render(probeInput(), true, time.Unix(0, 0))
		t.objectArgs = err == nil && strings.Contains(out, `"`+probeKey+`": "`+probeValue+`"`)
	})
	return t.objectArgs
}

// probeInput is a conversation with one tool call and its answer; the ids have nine characters, which
// Mistral's templates insist on.
func probeInput() Input {
	return Input{
		Messages: []Message{
			{Role: "user", Content: "User message"},
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "call00001", Name: "tool1",
				Arguments: `{"` + probeKey + `": "` + probeValue + `"}`}}},
			{Role: "tool", Content: "Tool response", ToolCallID: "call00001", Name: "tool1"},
			{Role: "assistant", Content: "The tool response was 'tool response'"},
			{Role: "user", Content: "User message"},
		},
		Tools: []Tool{{Name: "tool1", Description: "Tool description",
			Parameters: []byte(`{"type": "object", "properties": {"` + probeKey + `": {"type": "string"}}}`)}},
		AddGenerationPrompt: true,
	}
}
