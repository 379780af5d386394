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
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	msgs, apiErr := chatMessages(req.Messages)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	params, apiErr := resolveParams(req.samplingFields, s.cfg.Seed, s.cfg.NPredict)
	if apiErr == nil {
		apiErr = e.constrain(&params, req.constraintFields)
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	text, reply, apiErr := e.chatPrompt(&req, msgs)
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
	c := &chatChunker{id: newID("chatcmpl-"), model: e.alias, created: nowUnix(), reply: reply.stream()}
	if req.Stream {
		streamTask(r.Context(), w, t, c, true)
		return
	}
	content, res, ok := collect(r.Context(), t)
	if !ok {
		return
	}
	if res.err != nil {
		writeError(w, res.err)
		return
	}
	message, finish := reply.message(content, res.finishReason)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       message,
			"finish_reason": finish,
		}},
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

// chatChunker makes the chat.completion.chunk events of a streamed chat reply; the first carries the role.
type chatChunker struct {
	id, model string
	created   int64
	sentRole  bool
	reply     *replyStream
}

func (c *chatChunker) chunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
		"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}},
	}
}

func (c *chatChunker) text(text string, _ int) any {
	if text = c.reply.feed(text); text == "" {
		return nil
	}
	return c.chunk(c.withRole(map[string]any{"content": text}), nil)
}

// withRole adds the role to the stream's first delta.
func (c *chatChunker) withRole(delta map[string]any) map[string]any {
	if !c.sentRole {
		delta["role"] = "assistant"
		c.sentRole = true
	}
	return delta
}

// final sends the content held back for a tool call that did not parse, or the tool calls, one delta
// each as llama-server does, then the finish reason.
func (c *chatChunker) final(res *result) any {
	rest, calls, finish := c.reply.finish(res.finishReason)
	var events []any
	if rest != "" {
		events = append(events, c.chunk(c.withRole(map[string]any{"content": rest}), nil))
	}
	for _, call := range calls {
		events = append(events, c.chunk(c.withRole(map[string]any{"tool_calls": []map[string]any{call}}), nil))
	}
	ch := c.chunk(map[string]any{}, finish)
	ch["usage"] = usage(res)
	ch["timings"] = timings(res)
	return append(events, ch)
}
