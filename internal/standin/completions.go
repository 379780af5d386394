package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// kind tells a chat completion from a text completion.
type kind int

const (
	chatKind kind = iota
	textKind
)

// completionRequest holds the fields the stand-in reads.
type completionRequest struct {
	Stream   bool            `json:"stream"`
	Prompt   json.RawMessage `json:"prompt"`
	Messages []struct {
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
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
		var req completionRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid JSON body: "+err.Error())
			return
		}
		prompt := req.promptText()
		if !sleep(r.Context(), s.opts.ResponseDelay) {
			return
		}
		if req.Stream {
			s.stream(w, r, k, replyFor(prompt))
			return
		}
		writeJSON(w, http.StatusOK, s.completion(k, prompt))
	}
}

func (s *Server) completion(k kind, prompt string) map[string]any {
	reply := replyFor(prompt)
	promptTokens := len(strings.Fields(prompt))
	replyTokens := len(strings.Fields(reply))
	choice := map[string]any{"index": 0, "finish_reason": "stop"}
	object := "chat.completion"
	if k == chatKind {
		choice["message"] = map[string]string{"role": "assistant", "content": reply}
	} else {
		object = "text_completion"
		choice["text"] = reply
	}
	return map[string]any{
		"id":      fmt.Sprintf("standin-%d", s.requests.Load()),
		"object":  object,
		"created": time.Now().Unix(),
		"model":   s.opts.Alias,
		"choices": []any{choice},
		"usage": map[string]int{
			"prompt_tokens": promptTokens, "completion_tokens": replyTokens,
			"total_tokens": promptTokens + replyTokens,
		},
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
	var req struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid JSON body: "+err.Error())
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
