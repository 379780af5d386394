package runner

import (
	"encoding/json"
	"testing"
)

// The scheduler holds the text of a reply answered whole until its choice ends (emit, sendHeld), so it
// must know every reply that streams: one it took for whole would come as a single piece at the end.

// textPieces counts the events of a stream that carry text, each event read by piece.
func textPieces(t *testing.T, events []json.RawMessage, piece func(json.RawMessage) string) int {
	t.Helper()
	n := 0
	for _, ev := range events {
		if piece(ev) != "" {
			n++
		}
	}
	return n
}

// TestEveryStreamSendsItsTextAsItIsGenerated: each streaming endpoint sends a reply of 24 tokens in
// several pieces, not in one when it ends.
func TestEveryStreamSendsItsTextAsItIsGenerated(t *testing.T) {
	const tokens, atLeast = 24, 4
	f := runnerFor(t, false)
	settings := func(extra map[string]any) map[string]any {
		b := map[string]any{"seed": 7, "temperature": 1.0, "max_tokens": tokens, "ignore_eos": true}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	check := func(t *testing.T, pieces int) {
		t.Helper()
		if pieces < atLeast {
			t.Fatalf("a streamed reply of %d tokens came in %d pieces of text, want at least %d", tokens, pieces, atLeast)
		}
	}
	t.Run("chat", func(t *testing.T) {
		events, _ := f.streamEvents(t, "/v1/chat/completions", chatBody("stream please", settings(nil)))
		check(t, textPieces(t, events, func(ev json.RawMessage) string {
			var c struct {
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			if json.Unmarshal(ev, &c) != nil || len(c.Choices) == 0 {
				return ""
			}
			return c.Choices[0].Delta.Content
		}))
	})
	completionText := func(ev json.RawMessage) string {
		var c struct {
			Choices []struct{ Text string } `json:"choices"`
		}
		if json.Unmarshal(ev, &c) != nil || len(c.Choices) == 0 {
			return ""
		}
		return c.Choices[0].Text
	}
	t.Run("completions", func(t *testing.T) {
		events, _ := f.streamEvents(t, "/v1/completions", settings(map[string]any{"prompt": "Once upon a time"}))
		check(t, textPieces(t, events, completionText))
	})
	nativeContent := func(ev json.RawMessage) string {
		var c struct{ Content string }
		if json.Unmarshal(ev, &c) != nil {
			return ""
		}
		return c.Content
	}
	t.Run("native", func(t *testing.T) {
		events, _ := f.streamEvents(t, "/completion", settings(map[string]any{"prompt": "Once upon a time"}))
		check(t, textPieces(t, events, nativeContent))
	})
	typedPieces := func(events []typedEvent, name string) int {
		n := 0
		for _, ev := range events {
			if ev.name == name {
				n++
			}
		}
		return n
	}
	t.Run("messages", func(t *testing.T) {
		events := f.typedEvents(t, "/v1/messages", messagesBody("hello world", map[string]any{"max_tokens": tokens, "temperature": 1.0}))
		check(t, typedPieces(events, "content_block_delta"))
	})
	t.Run("responses", func(t *testing.T) {
		events := f.typedEvents(t, "/v1/responses", map[string]any{"input": "hello world", "max_output_tokens": tokens,
			"ignore_eos": true, "seed": 7, "temperature": 1.0})
		check(t, typedPieces(events, "response.output_text.delta"))
	})
	t.Run("infill", func(t *testing.T) {
		fim := fimRunner(t)
		events, _ := fim.streamEvents(t, "/infill", map[string]any{"input_prefix": "def f(", "input_suffix": ")",
			"n_predict": tokens, "seed": 7, "temperature": 1.0, "ignore_eos": true})
		check(t, textPieces(t, events, nativeContent))
	})
}
