package runner

import (
	"fmt"
	"math"
	"net/http"

	"custos/internal/llama"
)

// errEmbeddingsDisabled answers /v1/embeddings on a server started without --embeddings.
var errEmbeddingsDisabled = &apiError{Status: http.StatusNotImplemented, Type: typeNotSupported,
	Message: "This server does not support embeddings. Start it with `--embeddings`"}

// handleEmbeddings serves POST /v1/embeddings: one mean-pooled, L2-normalised vector of the model's width per
// input. The inputs run as separate tasks, so they spread over the free slots.
func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request, e *engine) {
	if !s.cfg.Embeddings {
		writeError(w, errEmbeddingsDisabled)
		return
	}
	var req embeddingRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Input) == 0 {
		writeError(w, badRequest("\"input\" must be a non-empty string or array"))
		return
	}
	tasks := make([]*task, len(req.Input))
	for i, in := range req.Input {
		prompt, apiErr := e.embeddingPrompt(i, in)
		if apiErr == nil {
			tasks[i] = newTask(r.Context(), prompt, genParams{}, true, e.slotCtx)
			apiErr = e.sched.enqueue(tasks[i])
		}
		if apiErr != nil {
			writeError(w, apiErr)
			return
		}
	}
	data := make([]map[string]any, len(tasks))
	total := 0
	for i, t := range tasks {
		_, res, ok := collect(r.Context(), t)
		if !ok {
			return
		}
		if res.err != nil {
			writeError(w, res.err)
			return
		}
		if res.embedding == nil {
			writeError(w, serverError(fmt.Errorf("llama.cpp produced no embedding for input %d", i)))
			return
		}
		total += res.promptTokens
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": normalize(res.embedding)}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "model": e.alias, "data": data,
		"usage": map[string]int{"prompt_tokens": total, "total_tokens": total},
	})
}

// embeddingPrompt tokenizes one input; it must fit one decode, since pooling needs the whole sequence at once.
func (e *engine) embeddingPrompt(i int, in promptInput) ([]llama.Token, *apiError) {
	prompt, apiErr := e.promptTokens(in)
	if apiErr != nil {
		return nil, apiErr
	}
	if len(prompt) == 0 {
		return nil, badRequest("input %d is empty", i)
	}
	if limit := min(e.batchSize, e.slotCtx); len(prompt) > limit {
		return nil, exceedContext(len(prompt), limit, fmt.Sprintf(
			"input %d has %d tokens, more than the %d one embedding may have; shorten it or raise -b/--batch-size and -c/--ctx-size",
			i, len(prompt), limit))
	}
	return prompt, nil
}

// normalize scales v to unit Euclidean length, as OpenAI's embeddings are; a zero vector stays zero.
func normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return v
	}
	inv := 1 / math.Sqrt(sum)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}
