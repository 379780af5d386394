package standin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// stream writes a streamed answer framed as k's llama-server route frames it, in StreamChunks data events
// (at least one per part below), each flushed at once:
//   - chat: a chunk with the role alone (content null), the text chunks, a chunk with the finish reason and an
//     empty delta, then "data: [DONE]";
//   - text completion: the text chunks, a chunk with the finish reason and empty text, then "data: [DONE]";
//   - native /completion: the text chunks, then the closing object (stop true), and no [DONE].
//
// Concatenating the chunks' text gives the reply. ChunkInterval is waited between text chunks; the role
// chunk goes out with the first of them, as llama-server sends it with the first token.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, k kind, prompt string) {
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	reply := replyFor(prompt)
	framing := 1 // the closing event
	if k == chatKind {
		framing++ // the role chunk
	}
	pieces := splitReply(reply, max(s.opts.StreamChunks-framing, 1))
	c := chunker{s: s, k: k, id: fmt.Sprintf("chatcmpl-standin-%d", s.requests.Load()), created: time.Now().Unix()}
	written := 0
	// send writes one event; it flushes when told to, and crashes once CrashMidStream events are out.
	send := func(event any, now bool) bool {
		b, _ := json.Marshal(event)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		written++
		crash := s.opts.CrashMidStream > 0 && written == s.opts.CrashMidStream
		if now || crash {
			flush()
		}
		if crash {
			s.crash()
		}
		return true
	}
	if k == chatKind && !send(c.chatChunk(map[string]any{"role": "assistant", "content": nil}, nil), false) {
		return
	}
	for i, piece := range pieces {
		if i > 0 && !sleep(r.Context(), s.opts.ChunkInterval) {
			return
		}
		if !send(c.text(i, piece, len(strings.Fields(prompt))), true) {
			return
		}
	}
	if !send(c.closing(prompt), true) || k == nativeKind {
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	flush()
}

// chunker makes the events of one streamed answer.
type chunker struct {
	s       *Server
	k       kind
	id      string
	created int64
}

func (c chunker) chatChunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.s.opts.Alias,
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
	}
}

func (c chunker) textChunk(text string, finish any) map[string]any {
	return map[string]any{
		"id": c.id, "object": "text_completion", "created": c.created, "model": c.s.opts.Alias,
		"choices": []any{map[string]any{"index": 0, "text": text, "logprobs": nil, "finish_reason": finish}},
	}
}

// text is the event carrying the i-th piece of the reply.
func (c chunker) text(i int, piece string, promptTokens int) map[string]any {
	switch c.k {
	case chatKind:
		return c.chatChunk(map[string]any{"content": piece}, nil)
	case textKind:
		return c.textChunk(piece, nil)
	}
	return map[string]any{"index": 0, "content": piece, "tokens": []int{100 + i}, "stop": false, "id_slot": -1,
		"tokens_predicted": i + 1, "tokens_evaluated": promptTokens}
}

// closing is the last event, with the finish reason and the totals.
func (c chunker) closing(prompt string) map[string]any {
	reply := replyFor(prompt)
	switch c.k {
	case chatKind:
		ch := c.chatChunk(map[string]any{}, "stop")
		ch["timings"] = timingsOf(prompt, reply)
		return ch
	case textKind:
		ch := c.textChunk("", "stop")
		ch["usage"] = usageOf(prompt, reply)
		ch["timings"] = timingsOf(prompt, reply)
		return ch
	}
	return c.s.nativeFinal(prompt, "")
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
