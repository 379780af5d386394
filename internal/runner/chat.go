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
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	text, err := llama.ApplyChatTemplate(e.chatTemplate, msgs, true)
	if err != nil {
		writeError(w, serverError(err))
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
	c := &chatChunker{id: newID("chatcmpl-"), model: e.alias, created: nowUnix(), params: t.params,
		sentRole: make([]bool, t.params.choices())}
	if req.Stream {
		streamTask(r.Context(), w, t, c, true)
		return
	}
	outs, res, ok := collect(r.Context(), t)
	if !ok {
		return
	}
	if res.err != nil {
		writeError(w, res.err)
		return
	}
	choices := make([]map[string]any, len(outs))
	for i, out := range outs {
		choices[i] = map[string]any{
			"index":         i,
			"message":       map[string]any{"role": "assistant", "content": out.text.String()},
			"finish_reason": res.choices[i].finishReason,
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
// the role. With stream_options.include_usage, every chunk has "usage": null and a last chunk without
// choices carries the usage, as OpenAI streams it.
type chatChunker struct {
	id, model string
	created   int64
	params    genParams
	sentRole  []bool
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
		ch := c.chunk([]map[string]any{{"index": ev.choice, "delta": map[string]any{"role": "assistant", "content": nil},
			"logprobs": nil, "finish_reason": nil}})
		ch["prompt_progress"] = ev.progress.json()
		return ch
	}
	delta := map[string]any{"content": ev.text}
	if !c.sentRole[ev.choice] {
		delta["role"] = "assistant"
		c.sentRole[ev.choice] = true
	}
	ch := c.chunk([]map[string]any{{"index": ev.choice, "delta": delta, "logprobs": c.logprobs(ev.probs),
		"finish_reason": nil}})
	addTimings(ch, ev)
	return ch
}

func (c *chatChunker) final(res *result) []any {
	var out []any
	for i, end := range res.choices {
		out = append(out, c.chunk([]map[string]any{{"index": i, "delta": map[string]any{}, "logprobs": nil,
			"finish_reason": end.finishReason}}))
	}
	if c.params.includeUsage {
		last := c.chunk([]map[string]any{})
		last["usage"] = usage(res)
		out = append(out, last)
	}
	out[len(out)-1].(map[string]any)["timings"] = timings(res)
	return out
}
