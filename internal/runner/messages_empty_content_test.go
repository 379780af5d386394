package runner

import (
	"net/http"
	"strings"
	"testing"
)

// TestMessagesRefuseEmptyContent: on /v1/messages a turn with "content": [] gets 400 naming it, as
// Anthropic answers, unless it is the final assistant turn, which has nothing to continue and counts as
// absent.
func TestMessagesRefuseEmptyContent(t *testing.T) {
	f := runnerFor(t, false)
	user := map[string]any{"role": "user", "content": "hi"}
	empty := func(role string) map[string]any { return map[string]any{"role": role, "content": []any{}} }
	for _, c := range []struct {
		name     string
		messages []any
		want     string
	}{
		{"a user turn", []any{empty("user")}, `"messages[0].content" must not be empty`},
		{"an assistant turn before the last", []any{user, empty("assistant"), user}, `"messages[1].content" must not be empty`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, raw := f.post(t, "/v1/messages/count_tokens", map[string]any{"messages": c.messages})
			msg, typ := errorOf(t, raw)
			if status != http.StatusBadRequest || typ != typeInvalidRequest || !strings.Contains(msg, c.want) {
				t.Fatalf("status %d, %s %q; want 400 with %q", status, typ, msg, c.want)
			}
		})
	}
	t.Run("the final assistant turn", func(t *testing.T) {
		var without, with struct {
			InputTokens int `json:"input_tokens"`
		}
		f.postOK(t, "/v1/messages/count_tokens", map[string]any{"messages": []any{user}}, &without)
		f.postOK(t, "/v1/messages/count_tokens", map[string]any{"messages": []any{user, empty("assistant")}}, &with)
		if with.InputTokens != without.InputTokens {
			t.Fatalf("%d tokens with an empty final assistant turn, %d without it", with.InputTokens, without.InputTokens)
		}
	})
}
