package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/gguf"
)

// In real Mistral vocabularies [TOOL_CALLS] is a control token, which generated text leaves out; the reply
// writes it out all the same, as llama-server writes its preserved tokens, so that a call after some text
// is read back. The bias on the token's id has the model write text, then the trigger, then the call.
func TestControlTokenCallMarkerIsWrittenOut(t *testing.T) {
	tmpl, err := os.ReadFile(nemoTemplate)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := gguf.GenerateFile(path, gguf.GenOptions{Seed: 1, ChatTemplate: string(tmpl), ControlToolMarkers: true}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{base: serveRunner(t, Config{ModelPath: path, CtxSize: 4096, Seed: testSeed, NPredict: -1})}
	var marker struct{ Tokens []int }
	f.postOK(t, "/tokenize", map[string]any{"content": "[TOOL_CALLS]"}, &marker)
	if len(marker.Tokens) != 1 {
		t.Fatalf("[TOOL_CALLS] is the tokens %v, want one", marker.Tokens)
	}
	for seed := range 4 {
		var reply toolReply
		f.postOK(t, "/v1/chat/completions", chatBody("Weather in Paris?", map[string]any{"tools": boundedTools,
			"max_tokens": 120, "seed": seed, "temperature": 1, "parallel_tool_calls": false,
			"logit_bias": [][]any{{marker.Tokens[0], 4}}}), &reply)
		ch := reply.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.Content == "" ||
			strings.Contains(ch.Message.Content, `"name"`) {
			t.Fatalf("seed %d: finish %q, calls %+v, content %q: want text, then one call", seed, ch.FinishReason,
				ch.Message.ToolCalls, ch.Message.Content)
		}
	}
}
