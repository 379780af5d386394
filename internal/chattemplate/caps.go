package chattemplate

import (
	"encoding/json"
	"strings"
	"time"
)

// Caps is what a template can render, as llama-server reports it in /props (chat_template_caps).
type Caps struct {
	StringContent, TypedContent         bool
	SystemRole                          bool
	Tools, ToolCalls, ParallelToolCalls bool
	ObjectArguments                     bool
	PreserveReasoning, ReasoningEffort  bool
}

// Map is c under llama-server's names.
func (c Caps) Map() map[string]bool {
	return map[string]bool{
		"supports_string_content": c.StringContent, "supports_typed_content": c.TypedContent,
		"supports_system_role": c.SystemRole, "supports_tools": c.Tools, "supports_tool_calls": c.ToolCalls,
		"supports_parallel_tool_calls": c.ParallelToolCalls, "supports_object_arguments": c.ObjectArguments,
		"supports_preserve_reasoning": c.PreserveReasoning, "supports_reasoning_effort": c.ReasoningEffort,
	}
}

// Probe markers that no real conversation contains.
const (
	probeContent   = "custos_probe_content"
	probeToolName  = "custos_probe_tool"
	probeCallName  = "custos_probe_call"
	probeCallName2 = "custos_probe_second_call"
	probeReasoning = "custos_probe_reasoning"
)

// Caps learns what the template can render by rendering the probe conversations llama-server renders,
// once. llama-server watches which of a probe's values its Jinja engine reads; this package's engine does
// not say, so here a value counts when it reaches the prompt, and reasoning_effort when two efforts give
// two prompts. The two part where llama-server misses a template that walks typed content in a for loop
// (LFM2.5, Ministral 3 Reasoning), which these probes see render it.
func (t *Template) Caps() Caps {
	t.capsOnce.Do(func() { t.caps = t.learnCaps() })
	return t.caps
}

func (t *Template) learnCaps() Caps {
	c := Caps{SystemRole: t.supportsSystemRole(), ObjectArguments: t.usesObjectArguments()}
	user := map[string]any{"role": "user", "content": "User message"}

	out, ok := t.probe([]any{map[string]any{"role": "user", "content": probeContent}}, nil, nil)
	c.StringContent = ok && strings.Contains(out, probeContent)
	typed := []any{map[string]any{"type": "text", "text": probeContent}}
	out, ok = t.probe([]any{map[string]any{"role": "user", "content": typed}}, nil, nil)
	// Printing the list whole (its Python or JSON form) is not reading its parts.
	c.TypedContent = ok && strings.Contains(out, probeContent) && !strings.Contains(out, "'text': '"+probeContent) &&
		!strings.Contains(out, `"text": "`+probeContent)

	var args any = `{"arg": "value"}`
	if c.ObjectArguments {
		args = map[string]any{"arg": "value"}
	}
	call := func(id, name string) any {
		return map[string]any{"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": args}}
	}
	conversation := func(calls ...any) []any {
		return []any{user, map[string]any{"role": "assistant", "content": "", "tool_calls": calls},
			map[string]any{"role": "tool", "content": "Tool response", "tool_call_id": "call00001"},
			map[string]any{"role": "assistant", "content": "The tool response was 'tool response'"}, user}
	}
	tools := []any{map[string]any{"type": "function", "function": map[string]any{"name": probeToolName,
		"description": "Tool description", "parameters": map[string]any{"type": "object",
			"properties": map[string]any{"arg": map[string]any{"type": "string"}}, "required": []any{"arg"}}}}}
	out, ok = t.probe(conversation(call("call00001", probeCallName)), tools, nil)
	c.Tools = ok && strings.Contains(out, probeToolName)
	c.ToolCalls = ok && strings.Contains(out, probeCallName)
	out, ok = t.probe(conversation(call("call00001", probeCallName), call("call00002", probeCallName2)), tools, nil)
	c.ParallelToolCalls = ok && strings.Contains(out, probeCallName) && strings.Contains(out, probeCallName2)

	// An earlier turn's reasoning, with every setting llama-server's probe sets to keep it.
	history := []any{user, map[string]any{"role": "assistant", "content": "Assistant message", "reasoning_content": probeReasoning},
		user, map[string]any{"role": "assistant", "content": "Assistant message", "reasoning_content": "Reasoning content"}, user}
	out, ok = t.probe(history, nil, map[string]any{"enable_thinking": true, "preserve_thinking": true,
		"clear_thinking": false, "truncate_history_thinking": false, "drop_thinking": false})
	c.PreserveReasoning = ok && strings.Contains(out, probeReasoning)
	// Templates test particular levels ("none", "max"), so any two levels that render apart will do.
	rendered := map[string]bool{}
	for _, level := range []string{"none", "low", "medium", "high", "max"} {
		out, ok := t.probe([]any{user}, nil, map[string]any{"enable_thinking": true, "reasoning_effort": level,
			"reasoning_strength": level})
		if ok {
			rendered[out] = true
		}
	}
	c.ReasoningEffort = len(rendered) > 1
	return c
}

// probe renders a conversation given as JSON values, with tools (an empty list when nil, as llama-server's
// probes have) and further variables, and reports whether the template rendered it.
func (t *Template) probe(messages, tools []any, vars map[string]any) (string, bool) {
	if tools == nil {
		tools = []any{}
	}
	kwargs := map[string]json.RawMessage{}
	for name, v := range map[string]any{"messages": messages, "tools": tools} {
		raw, err := json.Marshal(v)
		if err != nil {
			return "", false
		}
		kwargs[name] = raw
	}
	for name, v := range vars {
		raw, err := json.Marshal(v)
		if err != nil {
			return "", false
		}
		kwargs[name] = raw
	}
	out, err := t.render(Input{AddGenerationPrompt: true, Kwargs: kwargs}, false, time.Unix(0, 0))
	return out, err == nil
}
