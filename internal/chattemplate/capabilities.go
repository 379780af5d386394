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

// usesObjectArguments says whether the template wants a tool call's arguments as an object: most print
// them with tojson (Qwen 2.5, Llama 3.x, Mistral Nemo), which turns a JSON string into a quoted string, or
// walk their items (Qwen3-Coder, GLM). Like llama.cpp, it learns this by rendering a conversation with one
// call whose arguments are an object: the template uses them if the value is in the prompt, and not as
// Python's repr of a dict, which is what printing an object meant for a string gives.
func (t *Template) usesObjectArguments() bool {
	t.objectArgsOnce.Do(func() {
		out, err := t.render(probeInput(), true, time.Unix(0, 0))
		t.objectArgs = err == nil && strings.Contains(out, probeValue) &&
			!strings.Contains(out, "'"+probeKey+"': '"+probeValue+"'")
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

// probeSystem is a system message no real conversation contains.
const probeSystem = "custos_probe_system"

// supportsSystemRole says whether the template shows a system message: some (Gemma's) refuse one.
func (t *Template) supportsSystemRole() bool {
	t.systemOnce.Do(func() {
		in := Input{Messages: []Message{{Role: "system", Content: probeSystem}, {Role: "user", Content: "User message"}},
			AddGenerationPrompt: true}
		out, err := t.render(in, false, time.Unix(0, 0))
		t.system = err == nil && strings.Contains(out, probeSystem)
	})
	return t.system
}

// mergeSystemMessage puts a leading system message into the next message, for templates without a
// system role, as llama-server does: the model still sees the instructions.
func mergeSystemMessage(msgs []Message) []Message {
	if len(msgs) == 0 || msgs[0].Role != "system" {
		return msgs
	}
	if len(msgs) == 1 {
		return nil
	}
	out := append([]Message(nil), msgs[1:]...)
	out[0].Content = msgs[0].Content + "\n" + out[0].Content
	return out
}
