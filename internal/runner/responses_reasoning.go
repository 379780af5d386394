package runner

import (
	"encoding/json"
	"fmt"
)

// Reasoning on the Responses API: the request's reasoning.effort given to the template, reasoning input
// items given back to it as an assistant's reasoning_content, and the reply's reasoning sent as a
// reasoning output item before the message, as llama-server sends it.

// reasoningSetting is the request's "reasoning" object.
type reasoningSetting struct {
	Effort json.RawMessage `json:"effort"`
	// Summary and GenerateSummary ask for a summary of the reasoning, which this server does not write.
	Summary         json.RawMessage `json:"summary"`
	GenerateSummary json.RawMessage `json:"generate_summary"`
}

// applyReasoning reads "reasoning" into chat's reasoning_effort, as llama-server does: the template gets
// the effort, and "none" turns its reasoning off.
func applyReasoning(raw json.RawMessage, chat *chatRequest) *apiError {
	if !given(raw) {
		return nil
	}
	var r reasoningSetting
	if !isJSONObject(raw) || json.Unmarshal(raw, &r) != nil {
		return badRequest("\"reasoning\" must be an object")
	}
	// "auto" leaves it to the server whether to summarise, and this one writes none: clients such as Codex
	// send it with every request. A summary asked for by kind cannot be given.
	switch {
	case given(r.Summary) && string(r.Summary) != `"auto"`:
		return unsupportedField("reasoning.summary", "the reasoning comes back whole, in the reasoning item's content; only \"auto\" is accepted")
	case given(r.GenerateSummary) && string(r.GenerateSummary) != `"auto"`:
		return unsupportedField("reasoning.generate_summary", "the reasoning comes back whole, in the reasoning item's content; only \"auto\" is accepted")
	case !given(r.Effort):
		return nil
	}
	if json.Unmarshal(r.Effort, &chat.ReasoningEffort) != nil {
		return badRequest("\"reasoning.effort\" must be a string")
	}
	return nil
}

// reasoningItemMessage converts a reasoning input item, the model's earlier reasoning, to an assistant
// message holding it as reasoning_content: the text of its reasoning_text content parts, joined as text
// parts are. Its summary is not read, being a summary of that text. An item without content (OpenAI's
// encrypted reasoning) gets 400, as in llama-server.
func reasoningItemMessage(i int, raw json.RawMessage) (chatMessage, *apiError) {
	var item struct {
		Content          []responsesContentPart `json:"content"`
		EncryptedContent *string                `json:"encrypted_content"`
	}
	if json.Unmarshal(raw, &item) != nil {
		return chatMessage{}, badRequest("\"input[%d].content\" must be an array of reasoning_text parts", i)
	}
	if len(item.Content) == 0 {
		if item.EncryptedContent != nil && *item.EncryptedContent != "" {
			return chatMessage{}, unsupportedField(fmt.Sprintf("input[%d].encrypted_content", i),
				"encrypted reasoning is OpenAI's to read; send the reasoning as reasoning_text parts in \"content\"")
		}
		return chatMessage{}, badRequest("\"input[%d].content\" must hold the reasoning as reasoning_text parts", i)
	}
	texts := make([]string, len(item.Content))
	for j, p := range item.Content {
		if p.Type != "reasoning_text" || p.Text == nil {
			return chatMessage{}, badRequest("\"input[%d].content[%d]\" must be a reasoning_text part with \"text\"", i, j)
		}
		texts[j] = *p.Text
	}
	return chatMessage{Role: "assistant", ReasoningContent: joinTextParts(texts)}, nil
}

// reasoningItem is the output item of the reply's reasoning so far, as llama-server writes it: the text in
// one reasoning_text content part, no summary, an empty encrypted_content.
func (rs *responseState) reasoningItem(status string) map[string]any {
	content := []any{}
	if status != responseInProgress {
		content = append(content, map[string]string{"type": "reasoning_text", "text": rs.reasoning.String()})
	}
	return map[string]any{"type": "reasoning", "id": rs.reasoningID, "summary": []any{}, "content": content,
		"encrypted_content": "", "status": status}
}

// reasoningIndex is the output index of the reasoning item: always the first item.
const reasoningIndex = 0

// messageIndex is the output index of the message item: after the reasoning item, if the reply has one.
func (rs *responseState) messageIndex() int {
	if rs.reasoning.Len() > 0 {
		return reasoningIndex + 1
	}
	return 0
}

// reasoningFields are the fields that place an event in the reasoning item's text.
func (rs *responseState) reasoningFields(extra map[string]any) map[string]any {
	extra["item_id"] = rs.reasoningID
	extra["output_index"] = reasoningIndex
	extra["content_index"] = 0
	return extra
}

// reasoningText sends reasoning of the reasoning item, adding the item first.
func (rs *responseState) reasoningText(text string) []sseEvent {
	var evs []sseEvent
	if !rs.reasoningOpen {
		rs.reasoningOpen = true
		evs = append(evs, rs.event("response.output_item.added", map[string]any{"output_index": reasoningIndex,
			"item": rs.reasoningItem(responseInProgress)}))
	}
	rs.reasoning.WriteString(text)
	return append(evs, rs.event("response.reasoning_text.delta", rs.reasoningFields(map[string]any{"delta": text})))
}

// closeReasoning ends an open reasoning item with status: its text done, the item done, before the
// message item is added, as OpenAI sends items one after the other.
func (rs *responseState) closeReasoning(status string) []sseEvent {
	if !rs.reasoningOpen {
		return nil
	}
	rs.reasoningOpen = false
	return []sseEvent{
		rs.event("response.reasoning_text.done", rs.reasoningFields(map[string]any{"text": rs.reasoning.String()})),
		rs.event("response.output_item.done", map[string]any{"output_index": reasoningIndex,
			"item": rs.reasoningItem(status)}),
	}
}

// reasoningStatus is the reasoning item's status in a response whose status is final: completed when
// the reply went on past it, else the response's (incomplete when the token limit cut the reasoning).
func (rs *responseState) reasoningStatus(final string) string {
	if rs.reply.Len() > 0 || len(rs.calls) > 0 {
		return responseCompleted
	}
	return final
}

// mergedContent is the text of two assistant items that make one turn: an item that holds only calls or
// reasoning adds no text, as in llama-server; two texts are joined as parts are.
func mergedContent(prev, next chatMessage) messageContent {
	switch {
	case next.Content == "" && (len(next.ToolCalls) > 0 || next.ReasoningContent != ""):
		return prev.Content
	case prev.Content == "" && (len(prev.ToolCalls) > 0 || prev.ReasoningContent != ""):
		return next.Content
	}
	return messageContent(joinTextParts([]string{string(prev.Content), string(next.Content)}))
}
