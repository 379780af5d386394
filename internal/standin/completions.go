package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// kind tells the three completion routes apart: each answers in its own shape, as llama-server's do.
type kind int

const (
	chatKind   kind = iota // /v1/chat/completions
	textKind               // /v1/completions
	nativeKind             // /completion, llama-server's own
)

// completionRequest holds the fields the stand-in reads.
type completionRequest struct {
	Stream   bool            `json:"stream"`
	Prompt   json.RawMessage `json:"prompt"`
	Messages []struct {
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

// readCompletion decodes a completion body as llama-server does: a body that is not JSON is a 500
// server_error (its JSON parser throws), a chat without "messages" or a completion without "prompt" a 400.
func readCompletion(k kind, body []byte) (completionRequest, *requestError) {
	var req completionRequest
	if !json.Valid(body) {
		return req, &requestError{http.StatusInternalServerError, "server_error", "standin: the body is not valid JSON"}
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return req, &requestError{http.StatusBadRequest, "invalid_request_error", "standin: the body must be a JSON object"}
	}
	required := "prompt"
	if k == chatKind {
		required = "messages"
	}
	if _, ok := fields[required]; !ok {
		return req, &requestError{http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("'%s' is required", required)}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, &requestError{http.StatusBadRequest, "invalid_request_error", "standin: " + err.Error()}
	}
	return req, nil
}

// requestError is a refused request: its status, error type and message.
type requestError struct {
	status       int
	typ, message string
}

// promptText joins every piece of text found in the prompt or messages.
func (c completionRequest) promptText() string {
	parts := textsOf(c.Prompt)
	for _, m := range c.Messages {
		parts = append(parts, textsOf(m.Content)...)
	}
	return strings.Join(parts, " ")
}

// textsOf reads a string, an array of strings, or an array of content
// parts ({"type":"text","text":...}); anything else yields nothing.
func textsOf(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		var part struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s)
		} else if json.Unmarshal(it, &part) == nil {
			out = append(out, part.Text)
		}
	}
	return out
}

// replyFor is the deterministic answer: "standin reply" and the prompt's word count.
func replyFor(prompt string) string {
	return fmt.Sprintf("standin reply %d", len(strings.Fields(prompt)))
}

func (s *Server) handleCompletion(k kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.CrashOnRequest {
			s.crash()
		}
		if s.opts.FailInference {
			writeError(w, http.StatusInternalServerError, "server_error", "standin: failing every inference (--fail-inference)")
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		req, rerr := readCompletion(k, body)
		if rerr != nil {
			writeError(w, rerr.status, rerr.typ, rerr.message)
			return
		}
		prompt := req.promptText()
		if !sleep(r.Context(), s.opts.ResponseDelay) {
			return
		}
		if req.Stream {
			s.stream(w, r, k, prompt)
			return
		}
		writeJSON(w, http.StatusOK, s.completion(k, prompt))
	}
}

func (s *Server) completion(k kind, prompt string) map[string]any {
	reply := replyFor(prompt)
	if k == nativeKind {
		return s.nativeFinal(prompt, reply)
	}
	choice := map[string]any{"index": 0, "finish_reason": "stop"}
	object := "chat.completion"
	if k == chatKind {
		choice["message"] = map[string]string{"role": "assistant", "content": reply}
	} else {
		object = "text_completion"
		choice["text"] = reply
		choice["logprobs"] = nil
	}
	return map[string]any{
		"id":      fmt.Sprintf("chatcmpl-standin-%d", s.requests.Load()),
		"object":  object,
		"created": time.Now().Unix(),
		"model":   s.opts.Alias,
		"choices": []any{choice},
		"usage":   usageOf(prompt, reply),
		"timings": timingsOf(prompt, reply),
	}
}

// nativeFinal is /completion's closing object, which holds the whole text when not streamed and none when
// streamed (content is then the empty string).
func (s *Server) nativeFinal(prompt, content string) map[string]any {
	promptTokens, replyTokens := len(strings.Fields(prompt)), len(strings.Fields(replyFor(prompt)))
	return map[string]any{
		"index": 0, "content": content, "tokens": []int{}, "id_slot": 0, "stop": true, "model": s.opts.Alias,
		"tokens_predicted": replyTokens, "tokens_evaluated": promptTokens, "tokens_cached": promptTokens + replyTokens,
		"prompt": prompt, "has_new_line": false, "truncated": false, "stop_type": "eos", "stopping_word": "",
		"generation_settings": map[string]any{"n_predict": -1, "seed": -1, "temperature": 0.8, "stream": content == ""},
		"timings":             timingsOf(prompt, replyFor(prompt)),
	}
}

// usageOf is OpenAI's token accounting, counting words as tokens.
func usageOf(prompt, reply string) map[string]any {
	p, c := len(strings.Fields(prompt)), len(strings.Fields(reply))
	return map[string]any{"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
		"prompt_tokens_details": map[string]int{"cached_tokens": 0}}
}

// timingsOf is llama-server's speed report, with every duration zero.
func timingsOf(prompt, reply string) map[string]any {
	return map[string]any{
		"cache_n": 0, "prompt_n": len(strings.Fields(prompt)), "prompt_ms": 0, "prompt_per_token_ms": 0, "prompt_per_second": 0,
		"predicted_n": len(strings.Fields(reply)), "predicted_ms": 0, "predicted_per_token_ms": 0, "predicted_per_second": 0,
	}
}

// sleep waits d, or less if the client gives up; it reports whether the
// full delay elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	if s.opts.FailInference {
		writeError(w, http.StatusInternalServerError, "server_error", "standin: failing every inference (--fail-inference)")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req struct {
		Input json.RawMessage `json:"input"`
	}
	if !json.Valid(body) {
		writeError(w, http.StatusInternalServerError, "server_error", "standin: the body is not valid JSON")
		return
	}
	if json.Unmarshal(body, &req) != nil || len(req.Input) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", `"input" or "content" must be provided`)
		return
	}
	inputs := textsOf(req.Input)
	data := make([]any, len(inputs))
	tokens := 0
	for i, in := range inputs {
		tokens += len(strings.Fields(in))
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": vectorFor(in)}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": s.opts.Alias,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// vectorFor is a deterministic 8-float vector derived from the text's bytes.
func vectorFor(text string) []float64 {
	v := make([]float64, 8)
	for i, b := range []byte(text) {
		v[i%8] += float64(b) / 256
	}
	return v
}
