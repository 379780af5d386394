package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"custos/internal/llama"
	"custos/internal/toolcall"
)

// responsesRequest is the body of POST /v1/responses, OpenAI's Responses API without server-side state: the
// conversation comes whole in input. As in llama-server, which converts the request to a chat completion,
// the chat sampling fields (seed, top_k, stop, ...) and constraints (grammar, json_schema,
// response_format) are accepted too; text.format, the Responses API's own, joins the constraints (see
// responses_format.go).
type responsesRequest struct {
	samplingFields
	Input           json.RawMessage   `json:"input"`
	Instructions    *string           `json:"instructions"`
	MaxOutputTokens *int              `json:"max_output_tokens"`
	Metadata        map[string]string `json:"metadata"`
	// Tools are function tools in the Responses shape (see responses_tools.go).
	Tools             json.RawMessage `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	// ChatTemplateKwargs are extra variables for the chat template, as on chat (llama-server passes the
	// request's fields on to chat).
	ChatTemplateKwargs map[string]json.RawMessage `json:"chat_template_kwargs"`
	// Reasoning gives the template a reasoning effort (see responses_reasoning.go); the budget fields
	// bound the reasoning, as on chat, since llama-server passes them on.
	Reasoning json.RawMessage `json:"reasoning"`
	budgetFields
	// Fields that need what this server does not have: stored responses, ...
	PreviousResponseID *string         `json:"previous_response_id"`
	Conversation       json.RawMessage `json:"conversation"`
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
// Their neutral values (a text format of plain text, truncation "disabled", ...) are accepted, since SDKs
// send them by default.
func (req *responsesRequest) refuseUnsupported() *apiError {
	const noState = "this server keeps no responses; send the whole conversation in \"input\""
	switch {
	case req.PreviousResponseID != nil && *req.PreviousResponseID != "":
		return unsupportedField("previous_response_id", noState)
	case given(req.Conversation):
		return unsupportedField("conversation", noState)
	case req.Background != nil && *req.Background:
		return unsupportedField("background", "")
	case given(req.Include) && !isEmptyArray(req.Include):
		return unsupportedField("include", "")
	case req.TopLogprobs != nil && *req.TopLogprobs > 0:
		return unsupportedField("top_logprobs", "")
	case given(req.Prompt):
		return unsupportedField("prompt", "prompt templates are stored server-side; send the text in \"input\"")
	case req.Truncation != nil && *req.Truncation != "disabled":
		return unsupportedField("truncation", "only \"disabled\" is")
	}
	return nil
}

// responsesInputItem is one item of a Responses input list: a message, a function call the model made,
// a call's output, or the model's reasoning (read in responses_reasoning.go).
type responsesInputItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	// function_call and function_call_output items
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// responsesContentPart is one part of a message's content.
type responsesContentPart struct {
	Type    string  `json:"type"`
	Text    *string `json:"text"`
	Refusal *string `json:"refusal"`
}

// responsesChat translates a Responses request to the chat request it stands for, as llama-server does:
// instructions become a system message, a string input one user message, consecutive assistant items
// (reasoning, messages and function calls) one assistant message, and a function call's output a tool
// message.
func responsesChat(req *responsesRequest) (*chatRequest, *apiError) {
	if !given(req.Input) {
		return nil, badRequest("\"input\" is required")
	}
	chat := &chatRequest{}
	apiErr := applyReasoning(req.Reasoning, chat)
	if apiErr != nil {
		return nil, apiErr
	}
	if chat.Tools, apiErr = responsesTools(req.Tools); apiErr != nil {
		return nil, apiErr
	}
	if chat.ToolChoice, apiErr = responsesToolChoice(req.ToolChoice); apiErr != nil {
		return nil, apiErr
	}
	chat.ParallelToolCalls = req.ParallelToolCalls
	chat.ChatTemplateKwargs = req.ChatTemplateKwargs
	if req.Instructions != nil {
		chat.Messages = append(chat.Messages, chatMessage{Role: "system", Content: messageContent(*req.Instructions)})
	}
	var text string
	if json.Unmarshal(req.Input, &text) == nil {
		chat.Messages = append(chat.Messages, chatMessage{Role: "user", Content: messageContent(text)})
		return chat, nil
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
		msg, apiErr := responsesItemMessage(i, raw, item)
		if apiErr != nil {
			return nil, apiErr
		}
		if n := len(chat.Messages); msg.Role == "assistant" && n > 0 && chat.Messages[n-1].Role == "assistant" {
			mergeAssistant(&chat.Messages[n-1], msg)
			continue
		}
		chat.Messages = append(chat.Messages, msg)
	}
	if len(chat.Messages) == 0 {
		return nil, badRequest("\"input\" must not be empty")
	}
	return chat, nil
}

// mergeAssistant adds next, an assistant item that follows prev, to prev: its calls after prev's, its text
// after prev's text (one newline between them), and its reasoning in place of prev's (llama-server's way).
func mergeAssistant(prev *chatMessage, next chatMessage) {
	prev.Content = mergedContent(*prev, next)
	if next.ReasoningContent != "" {
		prev.ReasoningContent = next.ReasoningContent
	}
	prev.ToolCalls = append(prev.ToolCalls, next.ToolCalls...)
}

// responsesItemMessage converts input item i, raw as it came.
func responsesItemMessage(i int, raw json.RawMessage, item responsesInputItem) (chatMessage, *apiError) {
	switch item.Type {
	case "", "message":
	case "function_call":
		return functionCallMessage(i, item)
	case "function_call_output":
		return functionOutputMessage(i, item)
	case "reasoning":
		return reasoningItemMessage(i, raw)
	default:
		return chatMessage{}, badRequest("\"input[%d]\": unknown item type %q", i, item.Type)
	}
	switch item.Role {
	case "user", "system", "developer", "assistant":
	case "":
		return chatMessage{}, badRequest("\"input[%d].role\" is required", i)
	default:
		return chatMessage{}, badRequest("\"input[%d].role\" must be user, system, developer or assistant, got %q", i, item.Role)
	}
	text, apiErr := partsText(fmt.Sprintf("input[%d].content", i), item.Content, item.Role)
	if apiErr != nil {
		return chatMessage{}, apiErr
	}
	return chatMessage{Role: item.Role, Content: messageContent(text)}, nil
}

// partsText reads content, a string or an array of content parts of a message from role, as one text.
func partsText(field string, content json.RawMessage, role string) (string, *apiError) {
	if isNull(content) {
		// OpenAI requires content; null is not an empty text.
		return "", badRequest("%q must be a string or an array of content parts, not null", field)
	}
	var text string
	if json.Unmarshal(content, &text) == nil {
		return text, nil
	}
	var parts []responsesContentPart
	if json.Unmarshal(content, &parts) != nil {
		return "", badRequest("%q must be a string or an array of content parts", field)
	}
	texts := make([]string, 0, len(parts))
	for j, p := range parts {
		field := fmt.Sprintf("%s[%d]", field, j)
		switch {
		case p.Type == "input_text" || p.Type == "output_text":
			if p.Text == nil {
				return "", badRequest("%q: a %s part needs \"text\"", field, p.Type)
			}
			texts = append(texts, *p.Text)
		case p.Type == "refusal" && role == "assistant":
			if p.Refusal == nil {
				return "", badRequest("%q: a refusal part needs \"refusal\"", field)
			}
			texts = append(texts, *p.Refusal)
		case p.Type == "input_image" || p.Type == "input_file" || p.Type == "input_audio":
			return "", unsupportedField(field, fmt.Sprintf("%s parts are not; the model reads text only", p.Type))
		default:
			return "", badRequest("%q: unknown content part type %q", field, p.Type)
		}
	}
	return joinTextParts(texts), nil
}

// parseResponses parses a Responses request into its prompt and how to read the reply.
func (s *Server) parseResponses(w http.ResponseWriter, r *http.Request, e *engine) (*responsesRequest, []llama.Token, *replyFormat, *apiError) {
	var req responsesRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return nil, nil, nil, err
	}
	if err := req.refuseUnsupported(); err != nil {
		return nil, nil, nil, err
	}
	var apiErr *apiError
	if req.textFormat, apiErr = textFormatOutput(req.Text); apiErr != nil {
		return nil, nil, nil, apiErr
	}
	chat, apiErr := responsesChat(&req)
	if apiErr != nil {
		return nil, nil, nil, apiErr
	}
	prompt, reply, apiErr := e.translatedPrompt(chat)
	if apiErr != nil {
		return nil, nil, nil, apiErr
	}
	return &req, prompt, reply, nil
}

// handleResponses serves POST /v1/responses: the input goes through the model's chat template, and the reply
// comes back as a response object, whole or as the typed events of a streamed response.
func (s *Server) handleResponses(w http.ResponseWriter, r *http.Request, e *engine) {
	if s.cfg.Embeddings {
		writeError(w, errCompletionsInEmbeddingMode)
		return
	}
	req, prompt, reply, apiErr := s.parseResponses(w, r, e)
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
	if apiErr == nil {
		apiErr = e.constrainToolCall(&params, reply)
	}
	if apiErr == nil {
		apiErr = e.reasonFirst(&params, reply)
	}
	if apiErr == nil {
		params.budget, apiErr = e.reasoningBudgetSpec(req.budgetFields, s.cfg.ReasoningBudget, s.cfg.ReasoningBudgetMessage, reply, params.wholeReplyGrammar())
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
	rs := &responseState{id: newID("resp_"), itemID: newID("msg_"), reasoningID: newID("rs_"), model: e.alias,
		created: nowUnix(), req: req, params: params, format: reply, stream: reply.stream(),
		piece: func(tok llama.Token) []byte { return replyPiece(e.model, params.preserved, tok) }}
	if t.params.stream {
		streamTypedTask(r.Context(), w, t, rs)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	rs.generated.WriteString(outs[0].text.String())
	rs.tokens = outs[0].tokens
	reasoning, parsed := reply.answer(rs.generated.String())
	rs.reasoning.WriteString(reasoning)
	rs.reply.WriteString(parsed.Content)
	rs.calls = parsed.Calls
	writeJSON(w, http.StatusOK, rs.response(res))
}

// handleResponsesInputTokens serves POST /v1/responses/input_tokens: the prompt's token count, without
// generating.
func (s *Server) handleResponsesInputTokens(w http.ResponseWriter, r *http.Request, e *engine) {
	_, prompt, _, apiErr := s.parseResponses(w, r, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "response.input_tokens", "input_tokens": len(prompt)})
}

// responseState builds one response: the whole object, or the events of its stream, numbered in order.
// A stream reads the reply's text as reasoning, content and function calls, holding back what may be a
// call until it can tell.
type responseState struct {
	id, itemID, reasoningID, model string
	created                        int64
	req                            *responsesRequest
	params                         genParams
	format                         *replyFormat
	stream                         *replyStream
	// generated and tokens are the reply as the model wrote it, for the count of its reasoning tokens.
	generated        strings.Builder
	tokens           []llama.Token
	piece            func(llama.Token) []byte
	reasoning, reply strings.Builder
	calls            []toolcall.Call
	seq              int
	// reasoningOpen while the reasoning item takes text; itemOpen once the message item began.
	reasoningOpen, itemOpen bool
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
		"top_p": rs.params.sampler.TopP, "tools": rs.echoedTools(), "tool_choice": rs.echoedToolChoice(),
		"parallel_tool_calls":  rs.req.ParallelToolCalls == nil || *rs.req.ParallelToolCalls,
		"previous_response_id": nil, "text": rs.req.echoedText(),
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
		"output_tokens_details": map[string]int{"reasoning_tokens": rs.format.reasoningTokens(rs.generated.String(), rs.tokens, rs.piece)},
		"total_tokens":          res.promptTokens + res.predicted,
	}
	return obj
}

// echoedTools are the request's tools as it sent them, [] when it sent none.
func (rs *responseState) echoedTools() any {
	if given(rs.req.Tools) {
		return rs.req.Tools
	}
	return []any{}
}

// echoedToolChoice is the request's tool_choice as it sent it, "auto" by default.
func (rs *responseState) echoedToolChoice() any {
	if given(rs.req.ToolChoice) {
		return rs.req.ToolChoice
	}
	return "auto"
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

// response is the whole response object of a finished generation: the reasoning, the message, then one
// function_call item per call. As in llama-server, a reply without reasoning or text has no item for it.
func (rs *responseState) response(res *result) map[string]any {
	status := finalStatus(res)
	output := []any{}
	if rs.reasoning.Len() > 0 {
		output = append(output, rs.reasoningItem(rs.reasoningStatus(status)))
	}
	if rs.reply.Len() > 0 {
		output = append(output, rs.message(status))
	}
	for _, c := range rs.calls {
		output = append(output, functionCallItem(c, responseCompleted))
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
	extra["output_index"] = rs.messageIndex()
	extra["content_index"] = 0
	return extra
}

func (rs *responseState) open() []sseEvent {
	return []sseEvent{
		rs.event("response.created", map[string]any{"response": rs.object(responseInProgress, []any{}, nil)}),
		rs.event("response.in_progress", map[string]any{"response": rs.object(responseInProgress, []any{}, nil)}),
	}
}

func (rs *responseState) text(piece string, tokens []llama.Token) []sseEvent {
	rs.generated.WriteString(piece)
	rs.tokens = append(rs.tokens, tokens...)
	return rs.stream.feedEvents(piece, rs.reasoningText, rs.content)
}

// content sends text of the message, closing the reasoning item and adding the message first.
func (rs *responseState) content(text string) []sseEvent {
	evs := rs.closeReasoning(responseCompleted)
	if !rs.itemOpen {
		rs.itemOpen = true
		evs = append(evs,
			rs.event("response.output_item.added", map[string]any{"output_index": rs.messageIndex(), "item": rs.message(responseInProgress)}),
			rs.event("response.content_part.added", rs.partFields(map[string]any{"part": outputText("")})))
	}
	rs.reply.WriteString(text)
	return append(evs, rs.event("response.output_text.delta",
		rs.partFields(map[string]any{"delta": text, "logprobs": []any{}})))
}

// close sends the text held back for a call that did not parse, closes the open item, sends the calls,
// and ends the response.
func (rs *responseState) close(res *result) []sseEvent {
	status := finalStatus(res)
	rest, calls := rs.stream.finish()
	rs.calls = calls
	var evs []sseEvent
	if rest != "" {
		evs = rs.content(rest)
	}
	evs = append(evs, rs.closeReasoning(rs.reasoningStatus(status))...)
	if rs.itemOpen {
		full := rs.reply.String()
		evs = append(evs,
			rs.event("response.output_text.done", rs.partFields(map[string]any{"text": full, "logprobs": []any{}})),
			rs.event("response.content_part.done", rs.partFields(map[string]any{"part": outputText(full)})),
			rs.event("response.output_item.done", map[string]any{"output_index": rs.messageIndex(), "item": rs.message(status)}))
	}
	for i, c := range calls {
		outputIndex := rs.messageIndex() + i
		if rs.itemOpen {
			outputIndex++
		}
		evs = append(evs, rs.callEvents(outputIndex, c)...)
	}
	last := rs.event("response."+status, map[string]any{"response": rs.response(res)})
	last.data.(map[string]any)["timings"] = timings(res)
	return append(evs, last)
}

// fail ends a stream that broke after it began with OpenAI's error event.
func (rs *responseState) fail(err *apiError) []sseEvent {
	return []sseEvent{rs.event("error", map[string]any{"code": err.Type, "message": err.Message, "param": nil})}
}
