package runner

import (
	"bytes"
	"encoding/json"
	"fmt"

	"custos/internal/toolcall"
)

// The Messages API's client tools, translated to chat's tools, tool_choice and history, and the calls the
// model writes translated back to tool_use blocks and their stream events.

// anthropicTool is one entry of "tools": a client tool {"name", "description", "input_schema"} (type
// absent or "custom"); the other types are tools Anthropic runs on its side.
type anthropicTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// anthropicTools converts the request's tools to chat's.
func anthropicTools(raw json.RawMessage) ([]toolSpec, *apiError) {
	if !given(raw) {
		return nil, nil
	}
	var in []anthropicTool
	if json.Unmarshal(raw, &in) != nil {
		return nil, badRequest("\"tools\" must be an array of tool objects")
	}
	out := make([]toolSpec, len(in))
	for i, t := range in {
		switch {
		case t.Type != "" && t.Type != "custom":
			return nil, unsupportedField(fmt.Sprintf("tools[%d]", i),
				fmt.Sprintf("tools of type %q run on Anthropic's side; only client tools with an input_schema are", t.Type))
		case t.Name == "":
			return nil, badRequest("\"tools[%d].name\" is required", i)
		case !isObjectSchema(t.InputSchema):
			return nil, badRequest("\"tools[%d].input_schema\" must be a JSON Schema object with \"type\": \"object\"", i)
		}
		out[i] = functionTool(t.Name, t.Description, t.InputSchema)
	}
	return out, nil
}

// isObjectSchema reports whether raw is a JSON object whose "type" is "object", as Anthropic requires of
// a tool's input_schema.
func isObjectSchema(raw json.RawMessage) bool {
	var s struct {
		Type json.RawMessage `json:"type"`
	}
	return isJSONObject(raw) && json.Unmarshal(raw, &s) == nil && string(s.Type) == `"object"`
}

// isJSONObject reports whether raw is one JSON object.
func isJSONObject(raw json.RawMessage) bool {
	return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) && json.Valid(raw)
}

// anthropicToolChoice converts "tool_choice": {"type": "auto" | "any" | "tool" (with "name") | "none"},
// and its disable_parallel_tool_use, to chat's tool_choice and parallel_tool_calls.
func anthropicToolChoice(raw json.RawMessage) (toolChoice, *bool, *apiError) {
	if !given(raw) {
		return toolChoice{}, nil, nil
	}
	var c struct {
		Type                   string `json:"type"`
		Name                   string `json:"name"`
		DisableParallelToolUse *bool  `json:"disable_parallel_tool_use"`
	}
	if !isJSONObject(raw) || json.Unmarshal(raw, &c) != nil {
		return toolChoice{}, nil, badRequest("\"tool_choice\" must be an object with \"type\" auto, any, tool or none")
	}
	var parallel *bool
	if c.DisableParallelToolUse != nil {
		p := !*c.DisableParallelToolUse
		parallel = &p
	}
	switch c.Type {
	case "auto", "none":
		return toolChoice{mode: c.Type}, parallel, nil
	case "any":
		return toolChoice{mode: "required"}, parallel, nil
	case "tool":
		if c.Name == "" {
			return toolChoice{}, nil, badRequest("\"tool_choice.name\" is required when its type is \"tool\"")
		}
		return toolChoice{mode: "function", name: c.Name}, parallel, nil
	}
	return toolChoice{}, nil, badRequest("\"tool_choice.type\" must be auto, any, tool or none, got %q", c.Type)
}

// toolUseCall converts a tool_use block of the assistant's history to the call it stands for.
func toolUseCall(field string, b anthropicBlock) (messageToolCall, *apiError) {
	switch {
	case b.ID == "":
		return messageToolCall{}, badRequest("\"%s.id\" is required", field)
	case b.Name == "":
		return messageToolCall{}, badRequest("\"%s.name\" is required", field)
	case !isJSONObject(b.Input):
		return messageToolCall{}, badRequest("\"%s.input\" must be a JSON object", field)
	}
	var args bytes.Buffer
	_ = json.Compact(&args, b.Input) // valid, checked above
	return callOf(b.ID, b.Name, args.String()), nil
}

// toolResultMessage converts a tool_result block of a user turn to a tool message. Its content is a string
// or text blocks, joined as they are (llama-server's way). is_error has no place in a chat template: the
// result's text, which says what failed, is what the model reads, as in llama-server.
func toolResultMessage(field string, b anthropicBlock) (chatMessage, *apiError) {
	if b.ToolUseID == "" {
		return chatMessage{}, badRequest("\"%s.tool_use_id\" is required", field)
	}
	var text string
	if given(b.Content) {
		var apiErr *apiError
		if text, apiErr = blocksText(field+".content", b.Content, ""); apiErr != nil {
			return chatMessage{}, apiErr
		}
	}
	return chatMessage{Role: "tool", Content: messageContent(text), ToolCallID: b.ToolUseID}, nil
}

// toolUseBlock is the answer's content block for one call; its input is the call's arguments object.
func toolUseBlock(c toolcall.Call) map[string]any {
	var input any = map[string]any{}
	if isJSONObject(json.RawMessage(c.Arguments)) {
		input = json.RawMessage(c.Arguments)
	}
	return map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": input}
}

// toolUseEvents are the stream events of one call, content block index, sent whole once the reply is
// complete: the block opened with an empty input, the arguments in one input_json_delta, the block closed.
func toolUseEvents(index int, c toolcall.Call) []sseEvent {
	return []sseEvent{
		anthropicEvent("content_block_start", map[string]any{"index": index, "content_block": map[string]any{
			"type": "tool_use", "id": c.ID, "name": c.Name, "input": map[string]any{}}}),
		anthropicEvent("content_block_delta", map[string]any{"index": index,
			"delta": map[string]string{"type": "input_json_delta", "partial_json": c.Arguments}}),
		anthropicEvent("content_block_stop", map[string]any{"index": index}),
	}
}
