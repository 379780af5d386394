package runner

import (
	"net/http"
	"testing"
)

// The chat token count is the length of the prompt chat itself would give the model: the same template,
// the same tokenizer, so usage.prompt_tokens of a real chat request agrees with it.
func TestChatInputTokensCountThePromptChatUses(t *testing.T) {
	f := runnerFor(t, false)
	body := chatBody("how many tokens is this?", map[string]any{"max_tokens": 1})
	var counted struct {
		Object      string `json:"object"`
		InputTokens int    `json:"input_tokens"`
	}
	f.postOK(t, "/v1/chat/completions/input_tokens", body, &counted)
	var chat struct {
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	f.postOK(t, "/v1/chat/completions", body, &chat)
	if counted.Object != "response.input_tokens" || counted.InputTokens == 0 || counted.InputTokens != chat.Usage.PromptTokens {
		t.Fatalf("input_tokens %+v, chat usage.prompt_tokens %d", counted, chat.Usage.PromptTokens)
	}
	if code, _ := f.post(t, "/v1/chat/completions/input_tokens", map[string]any{"messages": []any{}}); code != http.StatusBadRequest {
		t.Fatalf("empty messages: %d, want 400", code)
	}
}
