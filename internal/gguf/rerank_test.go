package gguf

import "testing"

func TestGenerateReranker(t *testing.T) {
	f, err := readBytes(generate(t, GenOptions{Seed: 1, Reranker: true}))
	if err != nil {
		t.Fatal(err)
	}
	if kv, ok := f.Get("llama.pooling_type"); !ok || kv.Value != uint32(poolingRank) {
		t.Errorf("llama.pooling_type = %v (present %v), want %d (rank)", kv.Value, ok, poolingRank)
	}
	if kv, ok := f.Get("llama.attention.causal"); !ok || kv.Value != false {
		t.Errorf("llama.attention.causal = %v (present %v), want false", kv.Value, ok)
	}
	plain, err := readBytes(generate(t, GenOptions{Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"llama.pooling_type", "llama.attention.causal"} {
		if _, ok := plain.Get(k); ok {
			t.Errorf("a model without Reranker has %s", k)
		}
	}
}
