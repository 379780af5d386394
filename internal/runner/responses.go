package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"custos/internal/llama"
)

// responsesRequest is the body of POST /v1/responses, OpenAI's Responses API without server-side state: the
// conversation comes whole in input. As in llama-server, which converts the request to a chat completion,
// the chat sampling fields (seed, top_k, stop, ...) are accepted too.
type responsesRequest struct {
	samplingFields
	Input           json.RawMessage   `json:"input"`
	Instructions    *string           `json:"instructions"`
	MaxOutputTokens *int              `json:"max_output_tokens"`
	Metadata        map[string]string `json:"metadata"`
	// Fields that need what this server does not have: stored responses, tools, reasoning, ...
	PreviousResponseID *string         `json:"previous_response_id"`
	Conversation       json.RawMessage `json:"conversation"`
	Tools              json.RawMessage `json:"tools"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	Reasoning          json.RawMessage `json:"reasoning"`
	Background         *bool           `json:"background"`
	Include            json.RawMessage `json:"include"`
	Text               json.RawMessage `json:"text"`
	TopLogprobs        *int            `json:"top_logprobs"`
	Prompt             json.RawMessage `json:"prompt"`
	Truncation         *string         `json:"truncation"`
}

// given reports whether a raw field is present and not null.
func given(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// refuseUnsupported answers the fields whose meaning this server cannot honour with a 400 naming them.
// Their neutral values (an empty tool list, tool_choice "none" or "auto" without tools, a text format of
// plain text, truncation "disabled") are accepted, since SDKs send them by default.
func (req *responsesRequest) refuseUnsupported() *apiError {
	const noState = "this server keeps no responses; send the whole conversation in \"input\""
	switch {
	case req.PreviousResponseID != nil && *req.PreviousResponseID != "":
		return unsupportedField("previous_response_id", noState)
	case given(req.Conversation):
		return unsupportedField("conversation", noState)
	case given(req.Tools) && !isEmptyArray(req.Tools):
		return unsupportedField("tools", "tool calling is not implemented on /v1/responses")
	case given(req.ToolChoice) && !isJSONString(req.ToolChoice, "none", "auto"):
		return unsupportedField("tool_choice", "tool calling is not implemented on /v1/responses")
	case given(req.Reasoning) && !noSettingGiven(req.Reasoning):
		return unsupportedField("reasoning", "")
	case req.Background != nil && *req.Background:
		return unsupportedField("background", "")
	case given(req.Include) && !isEmptyArray(req.Include):
		return unsupportedField("include", "")
	case given(req.Text) && !isPlainTextFormat(req.Text):
		return unsupportedField("text.format", "only {\"type\": \"text\"} is")
	case req.TopLogprobs != nil && *req.TopLogprobs > 0:
		return unsupportedField("top_logprobs", "")
	case given(req.Prompt):
		return unsupportedField("prompt", "prompt templates are stored server-side; send the text in \"input\"")
	case req.Truncation != nil && *req.Truncation != "disabled":
		return unsupportedField("truncation", "only \"disabled\" is")
	}
	return nil
}

// noSettingGiven reports whether raw is an object whose every member is null or absent.
func noSettingGiven(raw json.RawMessage) bool {
	var o map[string]json.RawMessage
	if json.Unmarshal(raw, &o) != nil {
		return false
	}
	for _, v := range o {
		if given(v) {
			return false
		}
	}
	return true
}

func isJSONString(raw json.RawMessage, allowed ...string) bool {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// isPlainTextFormat reports whether a Responses "text" object asks for plain text output (or says nothing of
// the format).
func isPlainTextFormat(raw json.RawMessage) bool {
	var t struct {
		Format *struct {
			Type string `json:"type"`
		} `json:"format"`
	}
	return json.Unmarshal(raw, &t) == nil && (t.Format == nil || t.Format.Type == "text")
}

// responsesInputItem is one item of a Responses input list; only messages are supported.
type responsesInputItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// responsesContentPart is one part of a message's content.
type responsesContentPart struct {
	Type    string  `json:"type"`
	Text    *string `json:"text"`
	Refusal *string `json:"refusal"`
}

// responsesMessages converts instructions and input to chat messages as llama-server does: instructions
// become a system message, a string input one user message, and consecutive assistant items one assistant
// message.
func responsesMessages(req *responsesRequest) ([]llama.ChatMessage, *apiError) {
	if !given(req.Input) {
		return nil, badRequest("\"input\" is required")
	}
	var msgs []llama.ChatMessage
	if req.Instructions != nil {
		msgs = append(msgs, llama.ChatMessage{Role: "system", Content: *req.Instructions})
	}
	var text string
	if json.Unmarshal(req.Input, &text) == nil {
		return append(msgs, llama.ChatMessage{Role: "user", Content: text}), nil
	}
	var items []json.RawMessage
	if json.Unmarshal(req.Input, &items) != nil {
		return nil, badRequest("\"input\" must be a string or an array of input items")
	}
	for i, raw := range items {
		var item responsesInputItem
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, badRequest("\"input[%d]\" must be an input item object", i)
		}
		msg, apiErr := responsesItemMessage(i, item)
		if apiErr != nil {
			return nil, apiErr
		}
		if n := len(msgs); msg.Role == "assistant" && n > 0 && msgs[n-1].Role == "assistant" {
			msgs[n-1].Content = joinTextParts([]string{msgs[n-1].Content, msg.Content})
			continue
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil, badRequest("\"input\" must not be empty")
	}
	return msgs, nil
}

// responsesItemMessage converts input item i, which must be a message.
func responsesItemMessage(i int, item responsesInputItem) (llama.ChatMessage, *apiError) {
	switch item.Type {
	case "", "message":
	case "function_call", "function_call_output":
		return llama.ChatMessage{}, unsupportedField(fmt.Sprintf("input[%d]", i),
			fmt.Sprintf("items of type %q need tool calling, which is not implemented on /v1/responses", item.Type))
	case "reasoning":
		return llama.ChatMessage{}, unsupportedField(fmt.Sprintf("input[%d]", i), "reasoning items are not")
	default:
		return llama.ChatMessage{}, badRequest("\"input[%d]\": unknown item type %q", i, item.Type)
	}
	switch item.Role {
	case "user", "system", "developer", "assistant":
	case "":
		return llama.ChatMessage{}, badRequest("\"input[%d].role\" is required", i)
	default:
		return llama.ChatMessage{}, badRequest("\"input[%d].role\" must be user, system, developer or assistant, got %q", i, item.Role)
	}
	var text string
	if json.Unmarshal(item.Content, &text) == nil {
		return llama.ChatMessage{Role: item.Role, Content: text}, nil
	}
	var parts []responsesContentPart
	if json.Unmarshal(item.Content, &parts) != nil {
		return llama.ChatMessage{}, badRequest("\"input[%d].content\" must be a string or an array of content parts", i)
	}
	texts := make([]string, 0, len(parts))
	for j, p := range parts {
		field := fmt.Sprintf("input[%d].content[%d]", i, j)
		switch {
		case p.Type == "input_text" || p.Type == "output_text":
			if p.Text == nil {
				return llama.ChatMessage{}, badRequest("%q: a %s part needs \"text\"", field, p.Type)
			}
			texts = append(texts, *p.Text)
		case p.Type == "refusal" && item.Role == "assistant":
			if p.Refusal == nil {
				return llama.ChatMessage{}, badRequest("%q: a refusal part needs \"refusal\"", field)
			}
			texts = append(texts, *p.Refusal)
		case p.Type == "input_image" || p.Type == "input_file" || p.Type == "input_audio":
			return llama.ChatMessage{}, unsupportedField(field, fmt.Sprintf("%s parts are not; the model reads text only", p.Type))
		default:
			return llama.ChatMessage{}, badRequest("%q: unknown content part type %q", field, p.Type)
		}
	}
	return llama.ChatMessage{Role: item.Role, Content: joinTextParts(texts)}, nil
}

// parseResponses parses a Responses request into its prompt and parameters.
func (s *Server) parseResponses(w http.ResponseWriter, r *http.Request, e *engine) (*responsesRequest, []llama.Token, *apiError) {
	var req responsesRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return nil, nil, err
	}
	if err := req.refuseUnsupported(); err != nil {
		return nil, nil, err
	}
	msgs, apiErr := responsesMessages(&req)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	prompt, apiErr := e.conversationPrompt(msgs)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	return &req, prompt, nil
}

// handleResponses serves POST /v1/responses: the input goes through the model's chat template, and the reply
// comes back as a response object, whole or as the typed events of a streamed response.
func (s *Server) handleResponses(w http.ResponseWriter, r *http.Request, e *engine) {
	if s.cfg.Embeddings {
		writeError(w, errCompletionsInEmbeddingMode)
		return
	}
	req, prompt, apiErr := s.parseResponses(w, r, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if req.MaxOutputTokens != nil {
		if *req.MaxOutputTokens < -1 {
			writeError(w, badRequest("\"max_output_tokens\" must be -1 (no limit) or more, got %d", *req.MaxOutputTokens))
			return
		}
		req.MaxTokens = req.MaxOutputTokens
	}
	params, apiErr := s.resolveSingleChoice(req.samplingFields, epChat, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	t, apiErr := e.startGeneration(r.Context(), prompt, params)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	rs := &responseState{id: newID("resp_"), itemID: newID("msg_"), model: e.alias, created: nowUnix(),
		req: req, params: params}
	if req.Stream {
		streamTypedTask(r.Context(), w, t, rs)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	rs.reply.WriteString(outs[0].text.String())
	writeJSON(w, http.StatusOK, rs.response(res))
}

// handleResponsesInputTokens serves POST /v1/responses/input_tokens: the prompt's token count, without
// generating.
func (s *Server) handleResponsesInputTokens(w http.ResponseWriter, r *http.Request, e *engine) {
	_, prompt, apiErr := s.parseResponses(w, r, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "response.input_tokens", "input_tokens": len(prompt)})
}

// responseState builds one response: the whole object, or the events of its stream, numbered in order.
type responseState struct {
	id, itemID, model string
	created           int64
	req               *responsesRequest
	params            genParams
	reply             strings.Builder
	seq               int
	itemOpen          bool
}

// Statuses of a response and of its output message.
const (
	responseInProgress = "in_progress"
	responseCompleted  = "completed"
	responseIncomplete = "incomplete"
)

// object is the response object with the given status and output, echoing the request's settings.
func (rs *responseState) object(status string, output []any, res *result) map[string]any {
	metadata := rs.req.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	var maxOutput any
	if rs.req.MaxOutputTokens != nil {
		maxOutput = *rs.req.MaxOutputTokens
	}
	obj := map[string]any{
		"id": rs.id, "object": "response", "created_at": rs.created, "status": status, "model": rs.model,
		"output": output, "error": nil, "incomplete_details": nil, "instructions": rs.req.Instructions,
		"max_output_tokens": maxOutput, "metadata": metadata, "temperature": rs.params.sampler.Temperature,
		"top_p": rs.params.sampler.TopP, "tools": []any{}, "tool_choice": "none", "parallel_tool_calls": false,
		"previous_response_id": nil, "text": map[string]any{"format": map[string]string{"type": "text"}},
		"usage": nil,
	}
	if res == nil {
		return obj
	}
	switch status {
	case responseCompleted:
		obj["completed_at"] = time.Now().Unix()
	case responseIncomplete:
		obj["incomplete_details"] = map[string]string{"reason": "max_output_tokens"}
	}
	obj["usage"] = map[string]any{
		"input_tokens":          res.promptTokens,
		"input_tokens_details":  map[string]int{"cached_tokens": res.cachedTokens},
		"output_tokens":         res.predicted,
		"output_tokens_details": map[string]int{"reasoning_tokens": 0},
		"total_tokens":          res.promptTokens + res.predicted,
	}
	return obj
}

// finalStatus is "incomplete" when the generation hit the token limit (or the slot's context), as OpenAI
// reports max_output_tokens; llama-server says "completed" in every case.
func finalStatus(res *result) string {
	if res.first().finishReason == finishLength {
		return responseIncomplete
	}
	return responseCompleted
}

// outputText is the output_text content part holding text.
func outputText(text string) map[string]any {
	return map[string]any{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}}
}

// message is the output message item with the text so far.
func (rs *responseState) message(status string) map[string]any {
	content := []any{}
	if status != responseInProgress {
		content = append(content, outputText(rs.reply.String()))
	}
	return map[string]any{"type": "message", "id": rs.itemID, "status": status, "role": "assistant", "content": content}
}

// response is the whole response object of a finished generation. As in llama-server, an empty reply has no
// message item.
func (rs *responseState) response(res *result) map[string]any {
	status := finalStatus(res)
	output := []any{}
	if rs.reply.Len() > 0 {
		output = append(output, rs.message(status))
	}
	return rs.object(status, output, res)
}

// event makes the next event of the stream, of the given type, numbered.
func (rs *responseState) event(typ string, fields map[string]any) sseEvent {
	fields["type"] = typ
	fields["sequence_number"] = rs.seq
	rs.seq++
	return sseEvent{name: typ, data: fields}
}

// partFields are the fields that place an event in the message's first content part.
func (rs *responseState) partFields(extra map[string]any) map[string]any {
	extra["item_id"] = rs.itemID
	extra["output_index"] = 0
	extra["content_index"] = 0
	return extra
}

func (rs *responseState) open() []sseEvent {
	return []sseEvent{
		rs.event("response.created", map[string]any{"response": rs.object(responseInProgress, []any{}, nil)}),
		rs.event("response.in_progress", map[string]any{"response": rs.object(responseInProgress, []any{}, nil)}),
	}
}

func (rs *responseState) text(text string) []sseEvent {
	var evs []sseEvent
	if !rs.itemOpen {
		rs.itemOpen = true
		evs = append(evs,
			rs.event("response.output_item.added", map[string]any{"output_index": 0, "item": rs.message(responseInProgress)}),
			rs.event("response.content_part.added", rs.partFields(map[string]any{"part": outputText("")})))
	}
	rs.reply.WriteString(text)
	return append(evs, rs.event("response.output_text.delta",
		rs.partFields(map[string]any{"delta": text, "logprobs": []any{}})))
}

func (rs *responseState) close(res *result) []sseEvent {
	status := finalStatus(res)
	var evs []sseEvent
	if rs.itemOpen {
		full := rs.reply.String()
		evs = append(evs,
			rs.event("response.output_text.done", rs.partFields(map[string]any{"text": full, "logprobs": []any{}})),
			rs.event("response.content_part.done", rs.partFields(map[string]any{"part": outputText(full)})),
			rs.event("response.output_item.done", map[string]any{"output_index": 0, "item": rs.message(status)}))
	}
	last := rs.event("response."+status, map[string]any{"response": rs.response(res)})
	last.data.(map[string]any)["timings"] = timings(res)
	return append(evs, last)
}

// fail ends a stream that broke after it began with OpenAI's error event.
func (rs *responseState) fail(err *apiError) []sseEvent {
	return []sseEvent{rs.event("error", map[string]any{"code": err.Type, "message": err.Message, "param": nil})}
}
