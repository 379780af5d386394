package runner

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"

	"custos/internal/llama"
)

// errEmbeddingsDisabled answers /v1/embeddings on a server started without --embeddings.
var errEmbeddingsDisabled = &apiError{Status: http.StatusNotImplemented, Type: typeNotSupported,
	Message: "This server does not support embeddings. Start it with `--embeddings`"}

// errPoolingNoneOnOpenAI answers /v1/embeddings on a server started with --pooling none, as llama-server
// does: OpenAI's shape has one vector per input, and such a server has one per token.
var errPoolingNoneOnOpenAI = badRequest("Pooling type 'none' is not OAI compatible. Please use a different pooling type")

// handleEmbeddings serves POST /v1/embeddings: one pooled, L2-normalised vector of the model's width per
// input, in OpenAI's shape (llama-server's own when the inputs come as "content").
func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request, e *engine) {
	s.serveEmbeddings(w, r, e, false)
}

// handleNativeEmbeddings serves llama-server's POST /embeddings and /embedding: the same vectors, as an
// array of {"index", "embedding": [vector]}.
func (s *Server) handleNativeEmbeddings(w http.ResponseWriter, r *http.Request, e *engine) {
	s.serveEmbeddings(w, r, e, true)
}

// serveEmbeddings embeds the request's inputs. They run as separate tasks, so they spread over the free
// slots.
func (s *Server) serveEmbeddings(w http.ResponseWriter, r *http.Request, e *engine, native bool) {
	if !s.cfg.Embeddings {
		writeError(w, errEmbeddingsDisabled)
		return
	}
	if !native && s.cfg.Pooling == poolingNone {
		writeError(w, errPoolingNoneOnOpenAI)
		return
	}
	var req embeddingRequest
	if err := s.decodeRequest(w, r, &req, epEmbeddings); err != nil {
		writeError(w, err)
		return
	}
	format, apiErr := req.output(e.model.NEmbdOut())
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if req.Input == nil && req.Content != nil {
		req.Input, native = req.Content, true
	}
	if len(req.Input) == 0 {
		writeError(w, badRequest("\"input\" (or \"content\") must be a non-empty string or array"))
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
		_, res, ok := collectAnswer(w, r, t)
		if !ok {
			return
		}
		if res.embedding == nil && res.tokenEmbeddings == nil {
			writeError(w, serverError(fmt.Errorf("llama.cpp produced no embedding for input %d", i)))
			return
		}
		total += res.promptTokens
		if res.tokenEmbeddings != nil {
			// One vector per token, as llama.cpp computed it: llama-server normalizes only pooled vectors.
			data[i] = map[string]any{"index": i, "embedding": res.tokenEmbeddings}
			continue
		}
		if native {
			data[i] = map[string]any{"index": i, "embedding": [][]float32{normalize(res.embedding, format.norm)}}
			continue
		}
		data[i] = format.encode(i, res.embedding)
	}
	if native {
		writeJSON(w, http.StatusOK, data)
		return
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

// embeddingOutput is how the vectors of one request are normalized and encoded.
type embeddingOutput struct {
	base64 bool
	// norm is llama-server's embd_normalize: -1 none, 0 max absolute, 1 taxicab, 2 Euclidean, p > 2 p-norm.
	norm int
}

// output checks encoding_format, dimensions and embd_normalize against a model whose vectors have width
// values. dimensions works only as the model's own width: shortening a vector keeps its meaning only for
// models trained for it (Matryoshka models), which a GGUF file does not declare, so any other width is
// refused rather than answered with truncated vectors of unknown quality.
func (req *embeddingRequest) output(width int) (embeddingOutput, *apiError) {
	out := embeddingOutput{norm: 2}
	if f := req.EncodingFormat; f != nil {
		switch *f {
		case "float":
		case "base64":
			out.base64 = true
		default:
			return out, badRequest("\"encoding_format\" must be \"float\" or \"base64\", got %q", *f)
		}
	}
	if d := req.Dimensions; d != nil && *d != width {
		return out, badRequest("\"dimensions\" is not supported for this model: its embeddings have %d values, "+
			"and it does not declare that shorter ones keep their meaning; leave \"dimensions\" out or send %d", width, width)
	}
	if n := req.EmbdNormalize; n != nil {
		if *n < -1 {
			return out, badRequest("\"embd_normalize\" must be -1 (none), 0 (max absolute), 1 (taxicab), 2 (Euclidean) or a larger p-norm, got %d", *n)
		}
		out.norm = *n
	}
	return out, nil
}

// encode is one element of the answer's data array: the normalized vector as numbers, or as base64 of
// its little-endian float32 bytes (then with "encoding_format", as llama-server adds).
func (o embeddingOutput) encode(index int, v []float32) map[string]any {
	v = normalize(v, o.norm)
	if !o.base64 {
		return map[string]any{"object": "embedding", "index": index, "embedding": v}
	}
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	return map[string]any{"object": "embedding", "index": index, "embedding": base64.StdEncoding.EncodeToString(raw),
		"encoding_format": "base64"}
}

// normalize scales v by its norm of kind p (see embeddingOutput.norm): 2, OpenAI's unit Euclidean length,
// unless the request chose another; a zero vector stays zero.
func normalize(v []float32, p int) []float32 {
	var norm float64
	switch {
	case p < 0:
		return v
	case p == 0:
		for _, x := range v {
			norm = math.Max(norm, math.Abs(float64(x)))
		}
		// llama.cpp scales the largest value to 32760, the int16 range, for this kind.
		norm /= 32760
	case p == 2:
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		norm = math.Sqrt(norm)
	default:
		for _, x := range v {
			norm += math.Pow(math.Abs(float64(x)), float64(p))
		}
		norm = math.Pow(norm, 1/float64(p))
	}
	if norm == 0 {
		return v
	}
	inv := 1 / norm
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}
