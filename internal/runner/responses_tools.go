package runner

import (
	"encoding/json"
	"fmt"

	"custos/internal/toolcall"
)

// The Responses API's function tools, translated to chat's tools, tool_choice and history, and the
// calls the model writes translated back to function_call output items and their stream events.

// responsesTool is one entry of a Responses "tools" array: {"type":"function", "name", "description",
// "parameters"} for a function; the other types are tools OpenAI runs on its side. "strict" is accepted
// and read nowhere: a forced call follows the schema anyway, and a call under "auto" is parsed as written.
type responsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// responsesTools converts the request's tools to chat's. A type other than function (web_search,
// file_search, computer_use_preview, mcp, ...) needs a tool OpenAI hosts: 400 naming it.
func responsesTools(raw json.RawMessage) ([]toolSpec, *apiError) {
	if !given(raw) {
		return nil, nil
	}
	var in []responsesTool
	if json.Unmarshal(raw, &in) != nil {
		return nil, badRequest("\"tools\" must be an array of tool objects")
	}
	out := make([]toolSpec, len(in))
	for i, t := range in {
		switch {
		case t.Type != "function":
			return nil, unsupportedField(fmt.Sprintf("tools[%d]", i),
				fmt.Sprintf("tools of type %q run on OpenAI's side; only \"function\" tools are", t.Type))
		case t.Name == "":
			return nil, badRequest("\"tools[%d].name\" is required", i)
		}
		out[i] = functionTool(t.Name, t.Description, t.Parameters)
	}
	return out, nil
}

// responsesToolChoice converts "tool_choice": "none", "auto", "required", or {"type":"function","name"}.
// The other objects (allowed_tools, hosted tools, mcp, custom) are refused by name.
func responsesToolChoice(raw json.RawMessage) (toolChoice, *apiError) {
	if !given(raw) {
		return toolChoice{}, nil
	}
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "none", "auto", "required":
			return toolChoice{mode: mode}, nil
		}
		return toolChoice{}, badRequest("\"tool_choice\": %q is not one of \"none\", \"auto\", \"required\"", mode)
	}
	var named struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	switch {
	case json.Unmarshal(raw, &named) != nil:
		return toolChoice{}, badRequest("\"tool_choice\" must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"name\": ...}")
	case named.Type != "function":
		return toolChoice{}, unsupportedField("tool_choice", fmt.Sprintf("a choice of type %q is not; only \"function\" is", named.Type))
	case named.Name == "":
		return toolChoice{}, badRequest("\"tool_choice.name\" is required")
	}
	return toolChoice{mode: "function", name: named.Name}, nil
}

// functionCallMessage converts a function_call input item, a call the model made earlier, to an
// assistant message that carries it. The arguments are a string, as OpenAI and llama-server take them;
// what it holds is the chat template's to read, as on chat: a template that walks the arguments as an
// object refuses one that is not JSON, another writes the text as it is, as llama-server does.
func functionCallMessage(i int, item responsesInputItem) (chatMessage, *apiError) {
	switch {
	case item.CallID == "":
		return chatMessage{}, badRequest("\"input[%d].call_id\" is required", i)
	case item.Name == "":
		return chatMessage{}, badRequest("\"input[%d].name\" is required", i)
	case !given(item.Arguments):
		return chatMessage{}, badRequest("\"input[%d].arguments\" is required", i)
	}
	args, ok := stringOf(item.Arguments)
	if !ok {
		return chatMessage{}, badRequest("\"input[%d].arguments\" must be a string holding the call's arguments as JSON, got %s",
			i, compact(item.Arguments))
	}
	return chatMessage{Role: "assistant", ToolCalls: []messageToolCall{callOf(item.CallID, item.Name, args)}}, nil
}

// functionOutputMessage converts a function_call_output input item, a call's result, to a tool message.
// The output is a string or input_text parts.
func functionOutputMessage(i int, item responsesInputItem) (chatMessage, *apiError) {
	if item.CallID == "" {
		return chatMessage{}, badRequest("\"input[%d].call_id\" is required", i)
	}
	field := fmt.Sprintf("input[%d].output", i)
	if !given(item.Output) {
		return chatMessage{}, badRequest("%q is required", field)
	}
	text, apiErr := partsText(field, item.Output, "user")
	if apiErr != nil {
		return chatMessage{}, apiErr
	}
	return chatMessage{Role: "tool", Content: messageContent(text), ToolCallID: item.CallID}, nil
}

// functionCallItem is the output item of one call. Its call_id is the call's id as chat gives it, which
// the client sends back in a function_call_output: it goes into the template as it is, and Mistral's
// templates take nine characters only.
func functionCallItem(c toolcall.Call, status string) map[string]any {
	args := c.Arguments
	if status == responseInProgress {
		args = ""
	}
	return map[string]any{"type": "function_call", "id": "fc_" + c.ID, "call_id": c.ID, "name": c.Name,
		"arguments": args, "status": status}
}

// callEvents are the events of one call, output item outputIndex, sent whole once the reply is complete:
// the item added, its arguments in one delta, the arguments done, the item done.
func (rs *responseState) callEvents(outputIndex int, c toolcall.Call) []sseEvent {
	itemID := "fc_" + c.ID
	return []sseEvent{
		rs.event("response.output_item.added", map[string]any{"output_index": outputIndex,
			"item": functionCallItem(c, responseInProgress)}),
		rs.event("response.function_call_arguments.delta", map[string]any{"item_id": itemID,
			"output_index": outputIndex, "delta": c.Arguments}),
		rs.event("response.function_call_arguments.done", map[string]any{"item_id": itemID,
			"output_index": outputIndex, "name": c.Name, "arguments": c.Arguments}),
		rs.event("response.output_item.done", map[string]any{"output_index": outputIndex,
			"item": functionCallItem(c, responseCompleted)}),
	}
}
