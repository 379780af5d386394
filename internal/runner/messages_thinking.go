package runner

import "encoding/json"

// Extended thinking on the Messages API: the request's "thinking" setting, an earlier reply's thinking
// blocks given back to the template as its reasoning_content, and the reply's reasoning sent as a thinking
// block before its text, as llama-server sends it.

// thinkingSetting is the request's "thinking": {"type": "enabled", "budget_tokens": N}, {"type":
// "adaptive"} (the model decides how much to think) or {"type": "disabled"}.
type thinkingSetting struct {
	Type         string          `json:"type"`
	BudgetTokens json.RawMessage `json:"budget_tokens"`
}

// defaultThinkingBudget is llama-server's budget for thinking enabled without budget_tokens.
const defaultThinkingBudget = 10000

// readThinking reads "thinking"; absent, it is the zero setting.
func readThinking(raw json.RawMessage) (thinkingSetting, *apiError) {
	var t thinkingSetting
	if !given(raw) {
		return t, nil
	}
	if !isJSONObject(raw) || json.Unmarshal(raw, &t) != nil {
		return t, badRequest("\"thinking\" must be an object with \"type\" enabled, adaptive or disabled")
	}
	return t, nil
}

// budget is the reasoning budget "enabled" asks for: budget_tokens, llama-server's 10000 by default.
func (t thinkingSetting) budget() (int, *apiError) {
	if !given(t.BudgetTokens) {
		return defaultThinkingBudget, nil
	}
	var budget int
	if json.Unmarshal(t.BudgetTokens, &budget) != nil || budget < 0 {
		return 0, badRequest("\"thinking.budget_tokens\" must be a non-negative integer")
	}
	return budget, nil
}

// thinkingBudget is the reasoning budget of a Messages request, as llama-server sets it: "enabled" gives
// its budget_tokens on as chat's thinking_budget_tokens; any other setting leaves the server's
// --reasoning-budget.
func (s *Server) thinkingBudget(raw json.RawMessage, e *engine, reply *replyFormat, grammar string) (*budgetSpec, *apiError) {
	t, apiErr := readThinking(raw)
	if apiErr != nil {
		return nil, apiErr
	}
	var f budgetFields
	if t.Type == "enabled" {
		limit, apiErr := t.budget()
		if apiErr != nil {
			return nil, apiErr
		}
		f.ThinkingBudgetTokens = &limit
	}
	return e.reasoningBudgetSpec(f, s.cfg.ReasoningBudget, s.cfg.ReasoningBudgetMessage, reply, grammar)
}

// applyThinking reads "thinking" into chat's reasoning settings. "disabled" turns the template's reasoning
// off, as reasoning_effort "none" does; "enabled" and "adaptive" leave it on, the template's default.
// "enabled" also sets a reasoning budget (thinkingBudget), which bounds the generation, not the prompt.
func applyThinking(raw json.RawMessage, chat *chatRequest) *apiError {
	t, apiErr := readThinking(raw)
	if apiErr != nil || !given(raw) {
		return apiErr
	}
	switch t.Type {
	case "enabled":
		if _, apiErr := t.budget(); apiErr != nil {
			return apiErr
		}
	case "adaptive":
	case "disabled":
		chat.ReasoningEffort = "none"
	default:
		return badRequest("\"thinking.type\" must be \"enabled\", \"adaptive\" or \"disabled\", got %q", t.Type)
	}
	return nil
}

// thinkingBlockText is the reasoning of a thinking block in an assistant turn. Its signature is not
// checked: llama-server writes an empty one, and no other server's signature can be verified here.
func thinkingBlockText(name string, b anthropicBlock) (string, *apiError) {
	if b.Thinking == nil {
		return "", badRequest("%q: a thinking block needs \"thinking\"", name)
	}
	return *b.Thinking, nil
}

// thinkingBlock is the reply's reasoning as a content block; its signature is empty, as llama-server's,
// since a local model's reasoning has nothing to sign it.
func thinkingBlock(reasoning string) map[string]string {
	return map[string]string{"type": "thinking", "thinking": reasoning, "signature": ""}
}

// thinkingIndex is the content block index of the reasoning: always the first block.
const thinkingIndex = 0

// reasoning sends reasoning of the thinking block, opening it first.
func (ms *messageState) reasoning(text string) []sseEvent {
	var evs []sseEvent
	if !ms.thinkingOpen {
		ms.thinkingOpen, ms.thought = true, true
		evs = append(evs, anthropicEvent("content_block_start", map[string]any{"index": thinkingIndex,
			"content_block": map[string]string{"type": "thinking", "thinking": ""}}))
	}
	return append(evs, anthropicEvent("content_block_delta", map[string]any{"index": thinkingIndex,
		"delta": map[string]string{"type": "thinking_delta", "thinking": text}}))
}

// closeThinking ends an open thinking block with its (empty) signature, as Anthropic requires before the
// block stops.
func (ms *messageState) closeThinking() []sseEvent {
	if !ms.thinkingOpen {
		return nil
	}
	ms.thinkingOpen = false
	return []sseEvent{
		anthropicEvent("content_block_delta", map[string]any{"index": thinkingIndex,
			"delta": map[string]string{"type": "signature_delta", "signature": ""}}),
		anthropicEvent("content_block_stop", map[string]any{"index": thinkingIndex}),
	}
}

// textIndex is the content block index of the text: after the thinking block, if the reply has one.
func (ms *messageState) textIndex() int {
	if ms.thought {
		return thinkingIndex + 1
	}
	return 0
}

// blockAfterText is the index of the n-th block that follows the text block (tool_use blocks).
func (ms *messageState) blockAfterText(n int) int {
	next := ms.textIndex()
	if ms.blockOpen {
		next++
	}
	return next + n
}

// refuseThinkingBlock is the 400 for a thinking block where it cannot stand.
func refuseThinkingBlock(name, typ string) *apiError {
	if typ == "redacted_thinking" {
		return unsupportedField(name, "redacted_thinking blocks are not; their reasoning is encrypted for Anthropic's models")
	}
	return badRequest("%q: a thinking block cannot stand here: thinking blocks go in assistant turns", name)
}
