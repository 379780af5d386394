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
	// Fields for what this server does not have: tools, extended thinking, MCP servers, code containers.
	Tools      json.RawMessage `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
	Thinking   json.RawMessage `json:"thinking"`
	MCPServers json.RawMessage `json:"mcp_servers"`
	Container  json.RawMessage `json:"container"`
}

// defaultMessagesMaxTokens is the limit when max_tokens is absent. Anthropic requires the field; llama-server
// accepts its absence and uses this value.
const defaultMessagesMaxTokens = 4096

// refuseUnsupported answers the fields this server cannot honour with a 400 naming them; their neutral
// values (no tools, tool_choice auto or none, thinking disabled) are accepted.
func (req *messagesRequest) refuseUnsupported() *apiError {
	const noTools = "tool use is not implemented on /v1/messages"
	switch {
	case given(req.Tools) && !isEmptyArray(req.Tools):
		return unsupportedField("tools", noTools)
	case given(req.ToolChoice) && !hasType(req.ToolChoice, "auto", "none"):
		return unsupportedField("tool_choice", noTools)
	case given(req.Thinking) && !hasType(req.Thinking, "disabled"):
		return unsupportedField("thinking", "the model has no extended thinking here")
	case given(req.MCPServers) && !isEmptyArray(req.MCPServers):
		return unsupportedField("mcp_servers", "")
	case given(req.Container):
		return unsupportedField("container", "")
	}
	return nil
}

// hasType reports whether raw is an object whose "type" is one of types.
func hasType(raw json.RawMessage, types ...string) bool {
	var o struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return false
	}
	for _, t := range types {
		if o.Type == t {
			return true
		}
	}
	return false
}

// anthropicBlock is a content block of a message or of the system prompt.
type anthropicBlock struct {
	Type string  `json:"type"`
	Text *string `json:"text"`
}

// anthropicMessage is one message of the conversation.
type anthropicMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// messagesChat converts the system prompt and the messages to chat messages as llama-server does: the system
// text blocks joined into one system message, each message's text blocks joined by newlines.
func messagesChat(req *messagesRequest) ([]llama.ChatMessage, *apiError) {
	var msgs []llama.ChatMessage
	if given(req.System) {
		system, apiErr := systemText(req.System)
		if apiErr != nil {
			return nil, apiErr
		}
		msgs = append(msgs, llama.ChatMessage{Role: "system", Content: system})
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
		text, apiErr := blocksText(fmt.Sprintf("messages[%d].content", i), m.Content, "\n")
		if apiErr != nil {
			return nil, apiErr
		}
		msgs = append(msgs, llama.ChatMessage{Role: m.Role, Content: text})
	}
	return msgs, nil
}

// systemText is the system prompt: a string, or text blocks joined as they are (llama-server's way).
func systemText(raw json.RawMessage) (string, *apiError) {
	return blocksText("system", raw, "")
}

// blocksText reads a content field, a string or an array of text blocks, as one text.
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
		name := fmt.Sprintf("%s[%d]", field, j)
		switch b.Type {
		case "text":
			if b.Text == nil {
				return "", badRequest("%q: a text block needs \"text\"", name)
			}
			texts = append(texts, *b.Text)
		case "image", "document", "search_result":
			return "", unsupportedField(name, fmt.Sprintf("%s blocks are not; the model reads text only", b.Type))
		case "tool_use", "tool_result", "server_tool_use", "web_search_tool_result":
			return "", unsupportedField(name, fmt.Sprintf("%s blocks need tool use, which is not implemented on /v1/messages", b.Type))
		case "thinking", "redacted_thinking":
			return "", unsupportedField(name, fmt.Sprintf("%s blocks are not; the model has no extended thinking here", b.Type))
		default:
			return "", badRequest("%q: unknown content block type %q", name, b.Type)
		}
	}
	return strings.Join(texts, sep), nil
}

// parseMessages reads a Messages request and its prompt.
func (s *Server) parseMessages(w http.ResponseWriter, r *http.Request, e *engine) (*messagesRequest, []llama.Token, *apiError) {
	var req messagesRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return nil, nil, err
	}
	if err := req.refuseUnsupported(); err != nil {
		return nil, nil, err
	}
	msgs, apiErr := messagesChat(&req)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	prompt, apiErr := e.conversationPrompt(msgs)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	return &req, prompt, nil
}

// handleMessages serves POST /v1/messages: the conversation goes through the model's chat template, and the
// reply comes back as an Anthropic message, whole or as its stream of events. Errors keep the OpenAI shape,
// as llama-server answers them on this endpoint too.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request, e *engine) {
	if s.cfg.Embeddings {
		writeError(w, errCompletionsInEmbeddingMode)
		return
	}
	req, prompt, apiErr := s.parseMessages(w, r, e)
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
	params, apiErr := resolveParams(samplingFields{MaxTokens: &maxTokens, Stop: req.StopSequences,
		Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK}, s.cfg.Seed, s.cfg.NPredict)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	t, apiErr := e.startGeneration(r.Context(), prompt, params)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	ms := &messageState{id: newID("msg_"), model: e.alias, promptTokens: len(prompt)}
	if req.Stream {
		streamTypedTask(r.Context(), w, t, ms)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	text := outs[0].text.String()
	content := []any{}
	if text != "" {
		content = append(content, map[string]string{"type": "text", "text": text})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": ms.id, "type": "message", "role": "assistant", "model": ms.model, "content": content,
		"stop_reason": stopReason(res), "stop_sequence": stopSequence(res), "usage": messagesUsage(res),
	})
}

// handleCountTokens serves POST /v1/messages/count_tokens: {"input_tokens": N}, the prompt's length.
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request, e *engine) {
	_, prompt, apiErr := s.parseMessages(w, r, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": len(prompt)})
}

// stopReason is Anthropic's name for how the generation ended. A stop string gives "stop_sequence", as
// Anthropic documents; llama-server says "end_turn" there.
func stopReason(res *result) string {
	switch res.first().stopType {
	case stopTypeWord:
		return "stop_sequence"
	case stopTypeEOS:
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

// messageState makes the events of a streamed message.
type messageState struct {
	id, model    string
	promptTokens int
	blockOpen    bool
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

func (ms *messageState) text(text string) []sseEvent {
	var evs []sseEvent
	if !ms.blockOpen {
		ms.blockOpen = true
		evs = append(evs, anthropicEvent("content_block_start", map[string]any{"index": 0,
			"content_block": map[string]string{"type": "text", "text": ""}}))
	}
	return append(evs, anthropicEvent("content_block_delta", map[string]any{"index": 0,
		"delta": map[string]string{"type": "text_delta", "text": text}}))
}

func (ms *messageState) close(res *result) []sseEvent {
	var evs []sseEvent
	if ms.blockOpen {
		evs = append(evs, anthropicEvent("content_block_stop", map[string]any{"index": 0}))
	}
	return append(evs,
		anthropicEvent("message_delta", map[string]any{
			"delta": map[string]any{"stop_reason": stopReason(res), "stop_sequence": stopSequence(res)},
			"usage": messagesUsage(res),
		}),
		anthropicEvent("message_stop", map[string]any{}))
}

// fail ends a broken stream with an error event whose data is the error object, as llama-server sends it.
func (ms *messageState) fail(err *apiError) []sseEvent {
	return []sseEvent{{name: "error", data: errorBody(err)["error"]}}
}
