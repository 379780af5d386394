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

// TestTokenPoolingOfSeveralSequencesInOneBatch documents why OneSequencePerDecode exists: decoded alone,
// each sequence scores the same every time; in one batch (sequence 0's tokens, then sequence 1's), llama.cpp
// v0.5.0 scores sequence 1 wrongly. If this test fails after a library upgrade, the fix may have landed and
// the runner may batch rank-pooled sequences again.
func TestTokenPoolingOfSeveralSequencesInOneBatch(t *testing.T) {
	m := loadModel(t, rerankModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 1024, NBatch: 256, NUBatch: 256, NSeqMax: 2, Embeddings: true, Pooling: PoolingRank})
	if !c.OneSequencePerDecode() {
		t.Fatal("OneSequencePerDecode false under rank pooling")
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
	if first != alone[0] {
		t.Fatalf("the first sequence scored %v in a batch, %v alone", first, alone[0])
	}
	if second == alone[1] {
		t.Fatalf("the second sequence scored %v both alone and in a batch: llama.cpp's token pooling of several sequences now works", second)
	}
	mean := newContext(t, m, ContextParams{NCtx: 256, NSeqMax: 1, Embeddings: true})
	if mean.OneSequencePerDecode() {
		t.Fatal("OneSequencePerDecode true under mean pooling, which pools several sequences of a batch correctly")
	}
}
