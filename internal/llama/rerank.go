package llama

import "runtime"

// AddEOS reports whether the model's tokenizer ends a text tokenized with special tokens with EOS.
func (m *Model) AddEOS() bool { return llamaVocabGetAddEOS(m.vocab) }

// AddSEP reports whether the model's tokenizer separates two texts with SEP, as BERT-style rerankers do.
func (m *Model) AddSEP() bool { return llamaVocabGetAddSEP(m.vocab) }

// SEP is the model's sentence separator token, or TokenNull.
func (m *Model) SEP() Token { return llamaVocabSEP(m.vocab) }

// NClsOut is the number of scores a classifier head gives per sequence under rank pooling (1 without labels).
func (m *Model) NClsOut() int { return int(llamaModelNClsOut(m.ptr)) }

// RerankTemplate is the model's prompt for a query and a document (tokenizer.chat_template.rerank, with
// {query} and {document} in it), or "" if it has none.
func (m *Model) RerankTemplate() string {
	name := cString("rerank")
	tmpl := llamaModelChatTemplate(m.ptr, &name[0])
	runtime.KeepAlive(name)
	return tmpl
}

// Pooling is how a context made with Embeddings reduces a sequence's outputs (enum llama_pooling_type).
type Pooling int32

// The pooling kinds llama.cpp v0.5.0 offers for a sequence.
const (
	PoolingMean Pooling = 1
	PoolingCLS  Pooling = 2
	PoolingLast Pooling = 3
	// PoolingRank scores a sequence with the model's classification head (NClsOut values), for reranking.
	PoolingRank Pooling = 4
	// PoolingNone pools nothing: each token keeps its own embedding, for EmbeddingsIth. llama.cpp numbers it
	// 0, which ContextParams.Pooling keeps for the default, so its value here is another (see cPooling).
	PoolingNone Pooling = 5
)

// cPooling is p as llama.cpp's enum llama_pooling_type numbers it.
func cPooling(p Pooling) int32 {
	if p == PoolingNone {
		return 0
	}
	return int32(p)
}

// Pooling is the pooling of a context made with Embeddings, or zero without.
func (c *Context) Pooling() Pooling { return c.pooling }

// seqOutputs is how many floats llama.cpp keeps per sequence for a context made with p.
func seqOutputs(m *Model, p ContextParams) int {
	if p.Embeddings && p.Pooling == PoolingRank {
		return m.NClsOut()
	}
	return m.nEmbdOut
}

// poolingOf is the pooling a context made with p applies, or zero without Embeddings.
func poolingOf(p ContextParams) Pooling {
	switch {
	case !p.Embeddings:
		return 0
	case p.Pooling == 0:
		return PoolingMean
	}
	return p.Pooling
}

// OneSequencePerDecode reports whether the context pools its sequences (every pooling it offers: mean,
// CLS, last, rank). llama.cpp v0.5.0 pools some of the sequences that share a batch wrongly: the second
// sequence of a batch gets another value than alone, under mean pooling as under token pooling (see
// TestPoolingOfSeveralSequencesInOneBatch; llama-server's embeddings and rerank scores change with how its
// requests were batched), so such sequences must be decoded one per batch.
func (c *Context) OneSequencePerDecode() bool { return c.pooling != 0 && c.pooling != PoolingNone }
