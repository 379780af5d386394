package llama

import (
	"testing"

	"custos/internal/gguf"
)

// rerankModelOptions is a generated reranker (rank pooling, non-causal attention); see fimModelOptions
// about its seed.
var rerankModelOptions = gguf.GenOptions{Seed: 72, Reranker: true}

// score decodes the token sequence of text in a rank-pooled context and returns its scores.
func score(t *testing.T, m *Model, c *Context, text string, seq int32) []float32 {
	t.Helper()
	toks := tokens(t, m, text)
	b := newBatch(t, len(toks), 1)
	for i, tok := range toks {
		b.Add(tok, int32(i), []int32{seq}, true)
	}
	decode(t, c, b)
	return c.EmbeddingsSeq(seq)
}

func TestRankPoolingScoresEachSequenceOnce(t *testing.T) {
	m := loadModel(t, rerankModelOptions)
	if m.NClsOut() != 1 {
		t.Fatalf("NClsOut %d, want 1 for a model without classifier labels", m.NClsOut())
	}
	c := newContext(t, m, ContextParams{NCtx: 512, NBatch: 256, NUBatch: 256, NSeqMax: 2, Embeddings: true, Pooling: PoolingRank})
	a := score(t, m, c, "hello world the model", 0)
	b := score(t, m, c, "hello world what is a token", 1)
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("scores %v and %v, want one value each", a, b)
	}
	if a[0] == b[0] {
		t.Fatalf("two documents score the same %v: the first token did not see the rest (causal attention?)", a[0])
	}
	c.SeqRemove(0, 0, -1)
	if again := score(t, m, c, "hello world the model", 0); again[0] != a[0] {
		t.Fatalf("the same text scored %v then %v", a[0], again[0])
	}
}

// TestRankPoolingNeedsNonCausalAttention shows why the generator makes rerankers non-causal: llama.cpp
// scores a llama-architecture sequence at its first token, which under causal attention sees nothing else.
func TestRankPoolingNeedsNonCausalAttention(t *testing.T) {
	m := loadModel(t, gguf.GenOptions{Seed: 73})
	c := newContext(t, m, ContextParams{NCtx: 512, NBatch: 256, NUBatch: 256, NSeqMax: 2, Embeddings: true, Pooling: PoolingRank})
	a := score(t, m, c, "hello world the model", 0)
	b := score(t, m, c, "hello world what is a token", 1)
	if len(a) != 1 || a[0] != b[0] {
		t.Fatalf("a causal model scored %v and %v; llama.cpp's rank pooling was expected to see only the first token", a, b)
	}
}
