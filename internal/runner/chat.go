package runner

import (
	"net/http"

	"custos/internal/llama"
)

// handleChat serves POST /v1/chat/completions: the messages go through the model's chat template, and the
// reply comes back whole or as a stream of chat.completion.chunk events.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request, e *engine) {
	if s.cfg.Embeddings {
		writeError(w, errCompletionsInEmbeddingMode)
		return
	}
	var req chatRequest
	if err := s.decodeRequest(w, r, &req, epChat); err != nil {
		writeError(w, err)
		return
	}
	msgs, apiErr := chatMessages(req.Messages)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	params, apiErr := s.resolveRequest(req.samplingFields, epChat, e)
	if apiErr == nil {
		apiErr = e.constrain(&params, req.constraintFields)
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	req.repeatContinued = true
	text, reply, apiErr := e.chatPrompt(&req, msgs)
	if apiErr == nil {
		apiErr = e.constrainToolCall(&params, reply)
	}
	params.completionID = newID("chatcmpl-")
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
	prompt, apiErr := e.tokenizeText(text)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	t, apiErr := e.startGeneration(r.Context(), prompt, params)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	c := newChatChunker(e.alias, t.params, reply)
	if t.params.stream {
		streamTask(r.Context(), w, t, c, true)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	choices := make([]map[string]any, len(outs))
	for i, out := range outs {
		message, finish := reply.message(out.text.String(), res.choices[i].finishReason)
		choices[i] = map[string]any{
			"index":         i,
			"message":       message,
			"finish_reason": finish,
			"logprobs":      c.logprobs(out.probs),
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
		"choices": choices,
		"usage":   usage(res),
		"timings": timings(res),
	})
}

// chatMessages checks the request's messages and converts them for the chat template.
func chatMessages(in []chatMessage) ([]llama.ChatMessage, *apiError) {
	if len(in) == 0 {
		return nil, badRequest("\"messages\" must be a non-empty array")
	}
	out := make([]llama.ChatMessage, len(in))
	for i, m := range in {
		if m.Role == "" {
			return nil, badRequest("\"messages[%d].role\" is required", i)
		}
		out[i] = llama.ChatMessage{Role: m.Role, Content: string(m.Content)}
	}
	return out, nil
}

// chatChunker makes the chat.completion.chunk events of a streamed chat reply; each choice's first carries
// the role. Each choice reads its text through its own reply stream, which holds back what may be a tool
// call until it can tell. With stream_options.include_usage, every chunk has "usage": null and a last chunk
// without choices carries the usage, as OpenAI streams it.
type chatChunker struct {
	id, model string
	created   int64
	params    genParams
	sentRole  []bool
	replies   []*replyStream
}

func newChatChunker(model string, params genParams, reply *replyFormat) *chatChunker {
	c := &chatChunker{id: params.completionID, model: model, created: nowUnix(), params: params,
		sentRole: make([]bool, params.choices()), replies: make([]*replyStream, params.choices())}
	for i := range c.replies {
		c.replies[i] = reply.stream()
	}
	return c
}

func (c *chatChunker) chunk(choices []map[string]any) map[string]any {
	ch := map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
		"choices": choices}
	if c.params.includeUsage {
		ch["usage"] = nil
	}
	return ch
}

// logprobs is a choice's logprobs: OpenAI's {"content": [...]} when asked for, else null.
func (c *chatChunker) logprobs(probs []tokenProb) any {
	if !c.params.probs.want {
		return nil
	}
	return chatLogprobs(probs, c.params.probs.post)
}

func (c *chatChunker) text(ev event) any {
	if ev.progress != nil {
		c.sentRole[ev.choice] = true
		ch := c.chunk([]map[string]any{{"index": ev.choice, "delta": map[string]any{"role": "assistant", "content": nil},
			"logprobs": nil, "finish_reason": nil}})
		ch["prompt_progress"] = ev.progress.json()
		return ch
	}
	reasoning, text := c.replies[ev.choice].feed(ev.text)
	var chunks []any
	if reasoning != "" {
		// As llama-server: the reasoning and the content a piece adds to go in deltas of their own.
		chunks = append(chunks, c.chunk([]map[string]any{{"index": ev.choice,
			"delta": map[string]any{"reasoning_content": reasoning}, "logprobs": nil, "finish_reason": nil}}))
	}
	if text != "" || (reasoning == "" && ev.probs != nil) {
		chunks = append(chunks, c.chunk([]map[string]any{{"index": ev.choice, "delta": map[string]any{"content": text},
			"logprobs": nil, "finish_reason": nil}}))
	}
	if len(chunks) == 0 {
		return nil
	}
	last := chunks[len(chunks)-1].(map[string]any)
	last["choices"].([]map[string]any)[0]["logprobs"] = c.logprobs(ev.probs)
	addTimings(last, ev)
	return c.opened(ev.choice, chunks...)
}

// opened puts, before a choice's first chunk, the chunk that opens it with the role alone, as
// llama-server and OpenAI stream it.
func (c *chatChunker) opened(choice int, chunks ...any) []any {
	if c.sentRole[choice] {
		return chunks
	}
	c.sentRole[choice] = true
	opening := c.chunk([]map[string]any{{"index": choice, "delta": map[string]any{"role": "assistant", "content": nil},
		"logprobs": nil, "finish_reason": nil}})
	return append([]any{opening}, chunks...)
}

func (c *chatChunker) final(res *result) []any {
	var out []any
	for i, end := range res.choices {
		out = append(out, c.closeChoice(i, end.finishReason)...)
	}
	if c.params.includeUsage {
		last := c.chunk([]map[string]any{})
		last["usage"] = usage(res)
		out = append(out, last)
	}
	out[len(out)-1].(map[string]any)["timings"] = timings(res)
	return out
}

// closeChoice sends a choice's content held back for a tool call that did not parse, or its tool calls, one
// delta each as llama-server does, then its finish reason.
func (c *chatChunker) closeChoice(i int, finishReason string) []any {
	rest, calls := c.replies[i].finish()
	var out []any
	one := func(delta map[string]any, finish any) {
		out = append(out, c.chunk([]map[string]any{{"index": i, "delta": delta, "logprobs": nil, "finish_reason": finish}}))
	}
	if rest != "" {
		one(map[string]any{"content": rest}, nil)
	}
	for _, call := range callsJSON(calls, true) {
		one(map[string]any{"tool_calls": []map[string]any{call}}, nil)
	}
	one(map[string]any{}, callsFinish(calls, finishReason))
	return c.opened(i, out...)
}
