package llama

import (
	"math"
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

// TestPoolingOfSeveralSequencesInOneBatch shows llama.cpp v0.5.0's fault that OneSequencePerDecode works
// around, under each pooling: the first sequence of a batch pools as it does alone, the second does not.
// When a release fixes it, this test says so, and the one-per-decode rule can go.
func TestPoolingOfSeveralSequencesInOneBatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		model   gguf.GenOptions
		pooling Pooling
	}{
		{"rank", rerankModelOptions, PoolingRank},
		{"mean", gguf.GenOptions{Dim: 256, Layers: 4, Seed: 1}, PoolingMean},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadModel(t, tc.model)
			c := newContext(t, m, ContextParams{NCtx: 1024, NBatch: 256, NUBatch: 256, NSeqMax: 2, Embeddings: true, Pooling: tc.pooling})
			if !c.OneSequencePerDecode() {
				t.Fatalf("OneSequencePerDecode false under pooling %d", tc.pooling)
			}
			texts := []string{"hello world the model", "hello world hello world and more"}
			alone := make([]float32, 2)
			for seq, text := range texts {
				alone[seq] = score(t, m, c, text, int32(seq))[0]
				c.SeqRemove(int32(seq), 0, -1)
			}
			b := newBatch(t, 64, 1)
			for seq, text := range texts {
				for i, tok := range tokens(t, m, text) {
					b.Add(tok, int32(i), []int32{int32(seq)}, true)
				}
			}
			decode(t, c, b)
			first, second := c.EmbeddingsSeq(0)[0], c.EmbeddingsSeq(1)[0]
			// A batch sums in another order: the first sequence may move by an ulp, the second moves far.
			if math.Abs(float64(first-alone[0])) > 1e-5 {
				t.Fatalf("the first sequence pooled to %v in a batch, %v alone", first, alone[0])
			}
			if math.Abs(float64(second-alone[1])) < 1e-3 {
				t.Fatalf("the second sequence pooled to %v both alone and in a batch: llama.cpp's pooling of several sequences now works", second)
			}
		})
	}
	plain := newContext(t, loadModel(t, gguf.GenOptions{Dim: 256, Layers: 4, Seed: 1}), ContextParams{NCtx: 256, NSeqMax: 1})
	if plain.OneSequencePerDecode() {
		t.Fatal("OneSequencePerDecode true for a context without embeddings")
	}
}
