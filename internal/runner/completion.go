package runner

import (
	"net/http"
	"strings"
	"time"
)

func nowUnix() int64 { return time.Now().Unix() }

// startCompletion parses a completion request (OpenAI's or llama-server's native) and starts it.
func (s *Server) startCompletion(w http.ResponseWriter, r *http.Request, e *engine) (*task, *completionRequest, bool) {
	if s.cfg.Embeddings {
		writeError(w, errCompletionsInEmbeddingMode)
		return nil, nil, false
	}
	var req completionRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return nil, nil, false
	}
	params, apiErr := resolveParams(req.samplingFields, s.cfg.Seed, s.cfg.NPredict)
	if apiErr == nil {
		apiErr = e.constrain(&params, req.constraintFields)
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return nil, nil, false
	}
	prompt, apiErr := e.promptTokens(req.Prompt)
	if apiErr != nil {
		writeError(w, apiErr)
		return nil, nil, false
	}
	t, apiErr := e.startGeneration(r.Context(), prompt, params)
	if apiErr != nil {
		writeError(w, apiErr)
		return nil, nil, false
	}
	return t, &req, true
}

// handleOpenAICompletion serves POST /v1/completions (object "text_completion").
func (s *Server) handleOpenAICompletion(w http.ResponseWriter, r *http.Request, e *engine) {
	t, req, ok := s.startCompletion(w, r, e)
	if !ok {
		return
	}
	c := &textChunker{id: newID("cmpl-"), model: e.alias, created: nowUnix()}
	if req.Stream {
		streamTask(r.Context(), w, t, c, true)
		return
	}
	text, res, ok := collect(r.Context(), t)
	if !ok {
		return
	}
	if res.err != nil {
		writeError(w, res.err)
		return
	}
	body := c.chunk(text, res.finishReason)
	body["usage"] = usage(res)
	body["timings"] = timings(res)
	writeJSON(w, http.StatusOK, body)
}

// textChunker makes the text_completion objects of /v1/completions, streamed or whole.
type textChunker struct {
	id, model string
	created   int64
}

func (c *textChunker) chunk(text string, finish any) map[string]any {
	return map[string]any{
		"id": c.id, "object": "text_completion", "created": c.created, "model": c.model,
		"choices": []map[string]any{{"index": 0, "text": text, "logprobs": nil, "finish_reason": finish}},
	}
}

func (c *textChunker) text(text string, _ int) any { return c.chunk(text, nil) }

func (c *textChunker) final(res *result) any {
	ch := c.chunk("", res.finishReason)
	ch["usage"] = usage(res)
	ch["timings"] = timings(res)
	return ch
}

// handleNativeCompletion serves llama-server's POST /completion: {"content": ..., "stop": true, ...}, or
// a stream of such objects, the last with "stop": true and the totals.
func (s *Server) handleNativeCompletion(w http.ResponseWriter, r *http.Request, e *engine) {
	t, req, ok := s.startCompletion(w, r, e)
	if !ok {
		return
	}
	c := &nativeChunker{model: e.alias, params: t.params, prompt: req.Prompt.text}
	if req.Stream {
		streamTask(r.Context(), w, t, c, false)
		return
	}
	text, res, ok := collect(r.Context(), t)
	if !ok {
		return
	}
	if res.err != nil {
		writeError(w, res.err)
		return
	}
	writeJSON(w, http.StatusOK, c.result(text, res))
}

// nativeChunker makes llama-server's native completion objects.
type nativeChunker struct {
	model  string
	params genParams
	prompt string
	all    strings.Builder // the streamed text so far, for has_new_line
}

func (c *nativeChunker) text(text string, slot int) any {
	c.all.WriteString(text)
	return map[string]any{"index": 0, "content": text, "tokens": []int{}, "stop": false, "id_slot": slot}
}

func (c *nativeChunker) final(res *result) any {
	out := c.result("", res)
	out["has_new_line"] = strings.Contains(c.all.String(), "\n")
	return out
}

// result is the closing object, with the whole text (empty when streamed) and the totals.
func (c *nativeChunker) result(content string, res *result) map[string]any {
	p := c.params.sampler
	return map[string]any{
		"index":            0,
		"content":          content,
		"tokens":           []int{},
		"id_slot":          res.slot,
		"stop":             true,
		"model":            c.model,
		"tokens_predicted": res.predicted,
		"tokens_evaluated": res.promptTokens,
		"tokens_cached":    res.nPast,
		"prompt":           c.prompt,
		"has_new_line":     strings.Contains(content, "\n"),
		"truncated":        false,
		"stop_type":        res.stopType,
		"stopping_word":    res.stoppingWord,
		"generation_settings": map[string]any{
			"n_predict": c.params.nPredict, "seed": p.Seed, "temperature": p.Temperature, "top_k": p.TopK,
			"top_p": p.TopP, "min_p": p.MinP, "repeat_penalty": p.RepeatPenalty, "repeat_last_n": p.PenaltyLastN,
			"presence_penalty": p.PresencePenalty, "frequency_penalty": p.FrequencyPenalty,
			"stop": append([]string{}, c.params.stops...), "ignore_eos": c.params.ignoreEOS,
		},
		"timings": timings(res),
	}
}
