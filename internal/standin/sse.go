package standin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// stream writes StreamChunks server-sent events, each flushed at once,
// then "data: [DONE]". Concatenating the chunks' content gives reply.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, k kind, reply string) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	n := s.opts.StreamChunks
	pieces := splitReply(reply, n)
	id := fmt.Sprintf("standin-%d", s.requests.Load())
	created := time.Now().Unix()
	for i, piece := range pieces {
		if i > 0 && !sleep(r.Context(), s.opts.ChunkInterval) {
			return
		}
		finish := any(nil)
		if i == n-1 {
			finish = "stop"
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", s.chunk(k, id, created, piece, finish)); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if s.opts.CrashMidStream > 0 && i+1 == s.opts.CrashMidStream {
			s.crash()
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

func (s *Server) chunk(k kind, id string, created int64, piece string, finish any) []byte {
	choice := map[string]any{"index": 0, "finish_reason": finish}
	object := "chat.completion.chunk"
	if k == chatKind {
		choice["delta"] = map[string]string{"content": piece}
	} else {
		object = "text_completion"
		choice["text"] = piece
	}
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": object, "created": created, "model": s.opts.Alias, "choices": []any{choice},
	})
	return b
}

// splitReply cuts reply into n pieces at word boundaries: one word per
// piece, the last piece taking any remaining words, empty pieces padding.
func splitReply(reply string, n int) []string {
	words := strings.Fields(reply)
	pieces := make([]string, n)
	for i, word := range words {
		if i > 0 {
			word = " " + word
		}
		j := min(i, n-1)
		pieces[j] += word
	}
	return pieces
}
