package runner

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// typedEvent is one event of a typed event stream ("event:" and "data:" lines).
type typedEvent struct {
	name string
	data json.RawMessage
}

// typedEvents posts a streaming request and returns its events, failing the test on a block that is not one
// "event:" line and one "data:" line of valid UTF-8 JSON.
func (f *fixture) typedEvents(t *testing.T, path string, body map[string]any) []typedEvent {
	t.Helper()
	body["stream"] = true
	status, raw := f.post(t, path, body)
	if status != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, status, raw)
	}
	var events []typedEvent
	for _, block := range bytes.Split(raw, []byte("\n\n")) {
		block = bytes.TrimSpace(block)
		if len(block) == 0 {
			continue
		}
		head, data, ok := bytes.Cut(block, []byte("\n"))
		name, okName := bytes.CutPrefix(head, []byte("event: "))
		payload, okData := bytes.CutPrefix(data, []byte("data: "))
		if !ok || !okName || !okData || !utf8.Valid(payload) || !json.Valid(payload) {
			t.Fatalf("not a typed SSE event: %q", block)
		}
		events = append(events, typedEvent{name: string(name), data: json.RawMessage(payload)})
	}
	return events
}

// names lists the events' names.
func names(events []typedEvent) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = ev.name
	}
	return out
}

// tokenCount is /tokenize's count of text with the model's special tokens, as a prompt is counted.
func (f *fixture) tokenCount(t *testing.T, text string) int {
	t.Helper()
	var tok struct {
		Tokens []int `json:"tokens"`
	}
	f.postOK(t, "/tokenize", map[string]any{"content": text, "add_special": true}, &tok)
	return len(tok.Tokens)
}

// chatML is the test model's chat template applied to role/content pairs, with the assistant's opening.
func chatML(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		b.WriteString("<|im_start|>" + pairs[i] + "\n" + pairs[i+1] + "<|im_end|>\n")
	}
	return b.String() + "<|im_start|>assistant\n"
}

// errorOf decodes an OpenAI-shaped error answer.
func errorOf(t *testing.T, raw []byte) (message, typ string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Message == "" || e.Error.Code == 0 {
		t.Fatalf("not an OpenAI-shaped error: %s", raw)
	}
	return e.Error.Message, e.Error.Type
}
