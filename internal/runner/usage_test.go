package runner

import (
	"encoding/json"
	"testing"
)

// tokenUsage is OpenAI's usage object.
type tokenUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// streamChunk is the part of an OpenAI stream chunk the usage tests read, and all its keys.
type streamChunk struct {
	Choices []json.RawMessage `json:"choices"`
	Usage   *tokenUsage       `json:"usage"`
	raw     map[string]json.RawMessage
}

func readChunks(t *testing.T, events []json.RawMessage) []streamChunk {
	t.Helper()
	out := make([]streamChunk, len(events))
	for i, ev := range events {
		mustJSON(t, ev, &out[i])
		mustJSON(t, ev, &out[i].raw)
	}
	return out
}

// TestIncludeUsageEndsTheStreamWithUsage: with stream_options.include_usage, the last chunk before [DONE]
// has no choices and the usage of every choice; every other chunk has "usage": null, as OpenAI streams.
func TestIncludeUsageEndsTheStreamWithUsage(t *testing.T) {
	f := runnerFor(t, false)
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/chat/completions", chatBody("usage please", map[string]any{"max_tokens": 5, "ignore_eos": true, "n": 2,
			"stream_options": map[string]any{"include_usage": true}})},
		{"/v1/completions", map[string]any{"prompt": "usage please", "max_tokens": 5, "ignore_eos": true, "n": 2,
			"stream_options": map[string]any{"include_usage": true}}},
	} {
		events, done := f.streamEvents(t, c.path, c.body)
		chunks := readChunks(t, events)
		if !done || len(chunks) < 2 {
			t.Fatalf("%s: %d chunks, [DONE] %v", c.path, len(chunks), done)
		}
		last := chunks[len(chunks)-1]
		if len(last.Choices) != 0 || last.Usage == nil || last.Usage.CompletionTokens != 10 ||
			last.Usage.TotalTokens != last.Usage.PromptTokens+10 || last.Usage.PromptTokens == 0 {
			t.Fatalf("%s: last chunk %s, want empty choices and usage of 2×5 tokens", c.path, events[len(events)-1])
		}
		for i, ch := range chunks[:len(chunks)-1] {
			if u, ok := ch.raw["usage"]; !ok || string(u) != "null" || len(ch.Choices) != 1 {
				t.Fatalf("%s: chunk %d %s, want one choice and \"usage\": null", c.path, i, events[i])
			}
		}
	}
}

// TestNoUsageChunkUnlessAsked: without include_usage no chunk carries usage (OpenAI's and llama-server's
// chat streams alike).
func TestNoUsageChunkUnlessAsked(t *testing.T) {
	f := runnerFor(t, false)
	events, _ := f.streamEvents(t, "/v1/chat/completions", chatBody("no usage", map[string]any{"max_tokens": 4}))
	for i, ch := range readChunks(t, events) {
		if _, ok := ch.raw["usage"]; ok {
			t.Fatalf("chunk %d carries usage unasked: %s", i, events[i])
		}
		if len(ch.Choices) != 1 {
			t.Fatalf("chunk %d has %d choices", i, len(ch.Choices))
		}
	}
}
