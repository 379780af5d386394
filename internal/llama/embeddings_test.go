package llama

import (
	"math"
	"slices"
	"testing"
)

// embed decodes text on seq in an embeddings context and returns its pooled embedding.
func embed(t *testing.T, m *Model, c *Context, text string, seq int32) []float32 {
	t.Helper()
	toks := tokens(t, m, text)
	b := newBatch(t, len(toks), 1)
	for i, tok := range toks {
		b.Add(tok, int32(i), []int32{seq}, true)
	}
	decode(t, c, b)
	return c.EmbeddingsSeq(seq)
}

func TestEmbeddingsHaveTheModelWidth(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256, NSeqMax: 2, Embeddings: true})
	a := embed(t, m, c, "first text", 0)
	b := embed(t, m, c, "a rather different second text", 1)
	for _, e := range [][]float32{a, b} {
		if len(e) != m.NEmbd() {
			t.Fatalf("embedding of %d values, want the model's width %d", len(e), m.NEmbd())
		}
		for _, x := range e {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("embedding holds %v", x)
			}
		}
	}
	if slices.Equal(a, b) {
		t.Error("two different texts have the same embedding")
	}
	if c.EmbeddingsSeq(5) != nil {
		t.Error("EmbeddingsSeq of a sequence never decoded returned values")
	}
}

// TestPoolingNoneKeepsOneEmbeddingPerToken: under PoolingNone every position of the batch has its own
// embedding of the model's width, the sequence has no pooled one, and the context does not need one
// sequence per decode.
func TestPoolingNoneKeepsOneEmbeddingPerToken(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256, NSeqMax: 2, Embeddings: true, Pooling: PoolingNone})
	if c.Pooling() != PoolingNone || c.OneSequencePerDecode() {
		t.Fatalf("Pooling() %d, OneSequencePerDecode %v; want PoolingNone, false", c.Pooling(), c.OneSequencePerDecode())
	}
	toks := tokens(t, m, "one vector per token")
	b := newBatch(t, len(toks), 1)
	for i, tok := range toks {
		b.Add(tok, int32(i), []int32{0}, true)
	}
	decode(t, c, b)
	var first []float32
	for i := range toks {
		e := c.EmbeddingsIth(int32(i))
		if len(e) != m.NEmbdOut() {
			t.Fatalf("token %d: embedding of %d values, want %d", i, len(e), m.NEmbdOut())
		}
		if i == 0 {
			first = e
		} else if slices.Equal(e, first) {
			t.Errorf("token %d has the first token's embedding", i)
		}
	}
	if c.EmbeddingsSeq(0) != nil {
		t.Error("EmbeddingsSeq returned a pooled vector under PoolingNone")
	}
}
