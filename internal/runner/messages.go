package runner

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"custos/internal/llama"
)

// messagesRequest is the body of POST /v1/messages, Anthropic's Messages API, and of its count_tokens.
type messagesRequest struct {
	MaxTokens     *int            `json:"max_tokens"`
	System        json.RawMessage `json:"system"`
	Messages      json.RawMessage `json:"messages"`
	StopSequences []string        `json:"stop_sequences"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	TopK          *int            `json:"top_k"`
	Stream        bool            `json:"stream"`
	// Tools are client tools in the Anthropic shape (see messages_tools.go).
	Tools      json.RawMessage `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
	// ChatTemplateKwargs are extra variables for the chat template, as on chat (llama-server passes them on).
	ChatTemplateKwargs map[string]json.RawMessage `json:"chat_template_kwargs"`
	// Thinking turns a thinking template's reasoning on or off (see messages_thinking.go).
	Thinking json.RawMessage `json:"thinking"`
	// Fields for what this server does not have: MCP servers, code containers.
	MCPServers json.RawMessage `json:"mcp_servers"`
	Container  json.RawMessage `json:"container"`
}

// defaultMessagesMaxTokens is the limit when max_tokens is absent. Anthropic requires the field; llama-server
// accepts its absence and uses this value.
const defaultMessagesMaxTokens = 4096

// refuseUnsupported answers the fields this server cannot honour with a 400 naming them; their neutral
// values (no MCP servers) are accepted.
func (req *messagesRequest) refuseUnsupported() *apiError {
	switch {
	case given(req.MCPServers) && !isEmptyArray(req.MCPServers):
		return unsupportedField("mcp_servers", "")
	case given(req.Container):
		return unsupportedField("container", "")
	}
	return nil
}

// anthropicBlock is a content block of a message, of the system prompt or of a tool result.
type anthropicBlock struct {
	Type string  `json:"type"`
	Text *string `json:"text"`
	// tool_use: a call the assistant made
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
	// tool_result: a call's result, in a user turn
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	// thinking: the assistant's reasoning before its reply
	Thinking *string `json:"thinking"`
}

// anthropicMessage is one message of the conversation.
type anthropicMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// messagesChat translates a Messages request to the chat request it stands for, as llama-server does: the
// system text blocks joined into one system message, each message's text blocks joined by newlines, an
// assistant's tool_use blocks its tool calls and its thinking blocks its reasoning_content, and a user's
// tool_result blocks tool messages.
func messagesChat(req *messagesRequest) (*chatRequest, *apiError) {
	chat := &chatRequest{}
	chat.ChatTemplateKwargs = req.ChatTemplateKwargs
	apiErr := applyThinking(req.Thinking, chat)
	if apiErr != nil {
		return nil, apiErr
	}
	if chat.Tools, apiErr = anthropicTools(req.Tools); apiErr != nil {
		return nil, apiErr
	}
	if chat.ToolChoice, chat.ParallelToolCalls, apiErr = anthropicToolChoice(req.ToolChoice); apiErr != nil {
		return nil, apiErr
	}
	if given(req.System) {
		system, apiErr := systemText(req.System)
		if apiErr != nil {
			return nil, apiErr
		}
		chat.Messages = append(chat.Messages, chatMessage{Role: "system", Content: messageContent(system)})
	}
	var in []anthropicMessage
	if !given(req.Messages) {
		return nil, badRequest("\"messages\" is required")
	}
	if json.Unmarshal(req.Messages, &in) != nil || len(in) == 0 {
		return nil, badRequest("\"messages\" must be a non-empty array of messages")
	}
	for i, m := range in {
		if m.Role != "user" && m.Role != "assistant" {
			return nil, badRequest("\"messages[%d].role\" must be \"user\" or \"assistant\", got %q", i, m.Role)
		}
		field := fmt.Sprintf("messages[%d].content", i)
		if isEmptyArray(m.Content) {
			// As Anthropic: only a final assistant turn may be empty, and then there is nothing to continue,
			// so it goes (llama-server drops it too).
			if m.Role == "assistant" && i == len(in)-1 {
				continue
			}
			return nil, badRequest("%q must not be empty: only the final assistant message may have no content", field)
		}
		msgs, apiErr := turnMessages(field, m.Role, m.Content)
		if apiErr != nil {
			return nil, apiErr
		}
		chat.Messages = append(chat.Messages, msgs...)
	}
	return chat, nil
}

// turnMessages converts one turn's content, a string or content blocks, to chat messages: the text blocks
// with an assistant's calls and reasoning as one message; each tool_result block of a user turn a tool
// message, in the order the blocks come. An assistant's thinking blocks are joined as they are
// (llama-server's way).
func turnMessages(field, role string, content json.RawMessage) ([]chatMessage, *apiError) {
	if isNull(content) {
		// Anthropic requires content; null is not an empty text.
		return nil, badRequest("%q must be a string or an array of content blocks, not null", field)
	}
	var s string
	if json.Unmarshal(content, &s) == nil {
		return []chatMessage{{Role: role, Content: messageContent(s)}}, nil
	}
	var blocks []anthropicBlock
	if json.Unmarshal(content, &blocks) != nil {
		return nil, badRequest("%q must be a string or an array of content blocks", field)
	}
	var out []chatMessage
	var texts []string
	var calls []messageToolCall
	var reasoning strings.Builder
	flush := func() {
		if len(texts) > 0 || len(calls) > 0 || reasoning.Len() > 0 {
			out = append(out, chatMessage{Role: role, Content: messageContent(strings.Join(texts, "\n")), ToolCalls: calls,
				ReasoningContent: reasoning.String()})
			texts, calls = nil, nil
			reasoning.Reset()
		}
	}
	for j, b := range blocks {
		name := fmt.Sprintf("%s[%d]", field, j)
		switch {
		case b.Type == "tool_use" && role == "assistant":
			call, apiErr := toolUseCall(name, b)
			if apiErr != nil {
				return nil, apiErr
			}
			calls = append(calls, call)
		case b.Type == "thinking" && role == "assistant":
			text, apiErr := thinkingBlockText(name, b)
			if apiErr != nil {
				return nil, apiErr
			}
			reasoning.WriteString(text)
		case b.Type == "tool_result" && role == "user":
			flush()
			msg, apiErr := toolResultMessage(name, b)
			if apiErr != nil {
				return nil, apiErr
			}
			out = append(out, msg)
		default:
			text, apiErr := textBlock(name, b)
			if apiErr != nil {
				return nil, apiErr
			}
			texts = append(texts, text)
		}
	}
	flush()
	if len(out) == 0 {
		out = append(out, chatMessage{Role: role})
	}
	return out, nil
}

// systemText is the system prompt: a string, or text blocks joined as they are (llama-server's way).
func systemText(raw json.RawMessage) (string, *apiError) {
	return blocksText("system", raw, "")
}

// blocksText reads a content field that holds text only, a string or an array of text blocks, as one text.
func blocksText(field string, raw json.RawMessage, sep string) (string, *apiError) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var blocks []anthropicBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return "", badRequest("%q must be a string or an array of content blocks", field)
	}
	texts := make([]string, 0, len(blocks))
	for j, b := range blocks {
		text, apiErr := textBlock(fmt.Sprintf("%s[%d]", field, j), b)
		if apiErr != nil {
			return "", apiErr
		}
		texts = append(texts, text)
	}
	return strings.Join(texts, sep), nil
}

// textBlock is the text of a block that must be a text block where it stands.
func textBlock(name string, b anthropicBlock) (string, *apiError) {
	switch b.Type {
	case "text":
		if b.Text == nil {
			return "", badRequest("%q: a text block needs \"text\"", name)
		}
		return *b.Text, nil
	case "image", "document", "search_result":
		return "", unsupportedField(name, fmt.Sprintf("%s blocks are not; the model reads text only", b.Type))
	case "tool_use", "tool_result":
		return "", badRequest("%q: a %s block cannot stand here: tool_use blocks go in assistant turns, "+
			"tool_result blocks in user turns", name, b.Type)
	case "server_tool_use", "web_search_tool_result":
		return "", unsupportedField(name, fmt.Sprintf("%s blocks are not; this server runs no tools of its own", b.Type))
	case "thinking", "redacted_thinking":
		return "", refuseThinkingBlock(name, b.Type)
	}
	return "", badRequest("%q: unknown content block type %q", name, b.Type)
}

// parseMessages reads a Messages request, its prompt, and how to read the reply.
func (s *Server) parseMessages(w http.ResponseWriter, r *http.Request, e *engine) (*messagesRequest, []llama.Token, *replyFormat, *apiError) {
	var req messagesRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return nil, nil, nil, err
	}
	if err := req.refuseUnsupported(); err != nil {
		return nil, nil, nil, err
	}
	chat, apiErr := messagesChat(&req)
	if apiErr != nil {
		return nil, nil, nil, apiErr
	}
	prompt, reply, apiErr := e.translatedPrompt(chat)
	if apiErr != nil {
		return nil, nil, nil, apiErr
	}
	return &req, prompt, reply, nil
}

// handleMessages serves POST /v1/messages: the conversation goes through the model's chat template, and the
// reply comes back as an Anthropic message, whole or as its stream of events. Errors keep the OpenAI shape,
// as llama-server answers them on this endpoint too.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request, e *engine) {
	if s.cfg.Embeddings {
		writeError(w, errCompletionsInEmbeddingMode)
		return
	}
	req, prompt, reply, apiErr := s.parseMessages(w, r, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if len(req.StopSequences) > maxStopStrings {
		writeError(w, badRequest("\"stop_sequences\" has %d strings; at most %d are accepted", len(req.StopSequences), maxStopStrings))
		return
	}
	maxTokens := defaultMessagesMaxTokens
	if req.MaxTokens != nil {
		maxTokens = *req.MaxTokens
	}
	params, apiErr := resolveParams(samplingFields{MaxTokens: &maxTokens, Stop: req.StopSequences, Stream: req.Stream,
		Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK}, s.cfg.Seed, s.cfg.NPredict)
	if apiErr == nil {
		params.pingInterval, _ = s.pingInterval(nil)
		apiErr = e.constrainToolCall(&params, reply)
	}
	if apiErr == nil {
		params.budget, apiErr = s.thinkingBudget(req.Thinking, e, reply, params.grammar)
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	t, apiErr := e.startGeneration(r.Context(), prompt, params)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	ms := &messageState{id: newID("msg_"), model: e.alias, promptTokens: len(prompt), stream: reply.stream()}
	if t.params.stream {
		streamTypedTask(r.Context(), w, t, ms)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	reasoning, parsed := reply.answer(outs[0].text.String())
	content := []any{}
	if reasoning != "" {
		content = append(content, thinkingBlock(reasoning))
	}
	if parsed.Content != "" {
		content = append(content, map[string]string{"type": "text", "text": parsed.Content})
	}
	for _, c := range parsed.Calls {
		content = append(content, toolUseBlock(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": ms.id, "type": "message", "role": "assistant", "model": ms.model, "content": content,
		"stop_reason": stopReason(res, len(parsed.Calls) > 0), "stop_sequence": stopSequence(res), "usage": messagesUsage(res),
	})
}

// handleCountTokens serves POST /v1/messages/count_tokens: {"input_tokens": N}, the prompt's length, the
// tools the template shows the model included.
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request, e *engine) {
	_, prompt, _, apiErr := s.parseMessages(w, r, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": len(prompt)})
}

// stopReason is Anthropic's name for how the generation ended: "tool_use" when the reply called a tool
// and stopped by itself, as llama-server. A stop string gives "stop_sequence", as Anthropic documents;
// llama-server says "end_turn" there.
func stopReason(res *result, called bool) string {
	switch end := res.first().stopType; {
	case called && (end == stopTypeWord || end == stopTypeEOS):
		return "tool_use"
	case end == stopTypeWord:
		return "stop_sequence"
	case end == stopTypeEOS:
		return "end_turn"
	}
	return "max_tokens"
}

func stopSequence(res *result) any {
	if end := res.first(); end.stopType == stopTypeWord {
		return end.stoppingWord
	}
	return nil
}

// messagesUsage is llama-server's Anthropic usage: input_tokens counts the prompt tokens computed, and
// cache_read_input_tokens those reused from the slot's cache.
func messagesUsage(res *result) map[string]int {
	return map[string]int{"input_tokens": res.promptTokens - res.cachedTokens,
		"cache_read_input_tokens": res.cachedTokens, "output_tokens": res.predicted}
}

// messageState makes the events of a streamed message: a thinking block while the reply reasons, then its
// text block, then its tool_use blocks. Its reply stream holds back what may be a tool call until it can
// tell.
type messageState struct {
	id, model    string
	promptTokens int
	stream       *replyStream
	// thinkingOpen while the thinking block takes reasoning; thought once the reply had one; blockOpen
	// once the text block began.
	thinkingOpen, thought, blockOpen bool
}

// anthropicEvent is one event of an Anthropic stream, whose data repeats its name as "type".
func anthropicEvent(typ string, fields map[string]any) sseEvent {
	fields["type"] = typ
	return sseEvent{name: typ, data: fields}
}

// open starts the message. The prompt's cached part is known only at the end, so message_start counts the
// whole prompt as input and message_delta carries the final figures.
func (ms *messageState) open() []sseEvent {
	return []sseEvent{
		anthropicEvent("message_start", map[string]any{"message": map[string]any{
			"id": ms.id, "type": "message", "role": "assistant", "content": []any{}, "model": ms.model,
			"stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]int{"input_tokens": ms.promptTokens, "cache_read_input_tokens": 0, "output_tokens": 0},
		}}),
		anthropicEvent("ping", map[string]any{}),
	}
}

func (ms *messageState) text(piece string, _ []llama.Token) []sseEvent {
	return ms.stream.feedEvents(piece, ms.reasoning, ms.content)
}

// content sends text of the text block, closing the thinking block and opening the text block first.
func (ms *messageState) content(text string) []sseEvent {
	evs := ms.closeThinking()
	if !ms.blockOpen {
		ms.blockOpen = true
		evs = append(evs, anthropicEvent("content_block_start", map[string]any{"index": ms.textIndex(),
			"content_block": map[string]string{"type": "text", "text": ""}}))
	}
	return append(evs, anthropicEvent("content_block_delta", map[string]any{"index": ms.textIndex(),
		"delta": map[string]string{"type": "text_delta", "text": text}}))
}

// close sends the text held back for a call that did not parse, closes the open block, sends a tool_use
// block per call, and ends the message.
func (ms *messageState) close(res *result) []sseEvent {
	rest, calls := ms.stream.finish()
	var evs []sseEvent
	if rest != "" {
		evs = ms.content(rest)
	}
	evs = append(evs, ms.closeThinking()...)
	if ms.blockOpen {
		evs = append(evs, anthropicEvent("content_block_stop", map[string]any{"index": ms.textIndex()}))
	}
	for i, c := range calls {
		evs = append(evs, toolUseEvents(ms.blockAfterText(i), c)...)
	}
	return append(evs,
		anthropicEvent("message_delta", map[string]any{
			"delta": map[string]any{"stop_reason": stopReason(res, len(calls) > 0), "stop_sequence": stopSequence(res)},
			"usage": messagesUsage(res),
		}),
		anthropicEvent("message_stop", map[string]any{}))
}

// fail ends a broken stream with an error event whose data is the error object, as llama-server sends it.
func (ms *messageState) fail(err *apiError) []sseEvent {
	return []sseEvent{{name: "error", data: errorBody(err)["error"]}}
}
