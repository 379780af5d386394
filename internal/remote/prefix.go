package remote

import (
	"encoding/json"
	"hash/fnv"
)

// prefixBytes bounds how much of a prompt the affinity key reads: enough
// to tell conversations apart by their opening, little enough that
// hashing it costs nothing next to a request.
const prefixBytes = 4096

// prefixKey is the affinity key of a request body: a hash of the opening
// of its prompt, which is what a replica's KV cache holds after serving
// it. A chat-like body (messages, with Anthropic's system and the
// Responses API's instructions) is keyed by its system text and its
// messages up to and including the first user message: every later turn
// of the conversation re-sends those bytes unchanged, so every turn keys
// the same, while two conversations that share only a system prompt key
// apart (keying by the first N bytes alone would send every conversation
// with a long shared system prompt to one replica). A completion body is
// keyed by the first prefixBytes of its prompt (or input). Bodies with
// none of these key 0, which still balances by least requests.
func prefixKey(body []byte) uint64 {
	var b struct {
		System       json.RawMessage   `json:"system"`
		Instructions json.RawMessage   `json:"instructions"`
		Messages     []json.RawMessage `json:"messages"`
		Prompt       json.RawMessage   `json:"prompt"`
		Input        json.RawMessage   `json:"input"`
	}
	if json.Unmarshal(body, &b) != nil {
		return 0
	}
	h := fnv.New64a()
	n := 0
	write := func(p []byte) {
		if left := prefixBytes - n; len(p) > left {
			p = p[:left]
		}
		_, _ = h.Write(p)
		n += len(p)
	}
	write(b.System)
	write(b.Instructions)
	for _, m := range b.Messages {
		write(m)
		var role struct {
			Role string `json:"role"`
		}
		if json.Unmarshal(m, &role) == nil && role.Role == "user" {
			break
		}
	}
	if len(b.Messages) == 0 {
		write(b.Prompt)
		write(b.Input)
	}
	if n == 0 {
		return 0
	}
	return h.Sum64()
}
