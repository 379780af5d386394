package gguf

import (
	"reflect"
	"testing"
)

// TestGenerateFIMTokens: the FIM tokens come after the usual vocabulary, as control tokens named by the
// metadata llama.cpp reads, and leave every other token's id as it was.
func TestGenerateFIMTokens(t *testing.T) {
	f, err := readBytes(generate(t, GenOptions{Seed: 1, FIMTokens: true}))
	if err != nil {
		t.Fatal(err)
	}
	base := newVocab(chatMLTemplate)
	tokens, _ := f.Get("tokenizer.ggml.tokens")
	types, _ := f.Get("tokenizer.ggml.token_type")
	pieces := tokens.Value.(Array).Values.([]string)
	kinds := types.Value.(Array).Values.([]int32)
	if len(pieces) != len(base.tokens)+3 || !reflect.DeepEqual(pieces[:len(base.tokens)], base.tokens) {
		t.Fatalf("vocabulary of %d tokens, want the usual %d then 3 FIM tokens, ids unchanged", len(pieces), len(base.tokens))
	}
	for i, want := range []struct{ piece, key string }{
		{"<|fim_prefix|>", "tokenizer.ggml.fim_pre_token_id"},
		{"<|fim_suffix|>", "tokenizer.ggml.fim_suf_token_id"},
		{"<|fim_middle|>", "tokenizer.ggml.fim_mid_token_id"},
	} {
		id := len(base.tokens) + i
		if pieces[id] != want.piece || kinds[id] != tokenControl {
			t.Errorf("token %d is %q of type %d, want control token %q", id, pieces[id], kinds[id], want.piece)
		}
		if kv, ok := f.Get(want.key); !ok || kv.Value != uint32(id) {
			t.Errorf("%s = %v (present %v), want %d", want.key, kv.Value, ok, id)
		}
	}
	plain, err := readBytes(generate(t, GenOptions{Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.Get("tokenizer.ggml.fim_pre_token_id"); ok {
		t.Error("a model without FIMTokens names a FIM token")
	}
}
