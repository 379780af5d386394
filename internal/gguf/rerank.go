package gguf

// poolingRank is llama.cpp's LLAMA_POOLING_TYPE_RANK, the value of {arch}.pooling_type for a reranker.
const poolingRank = 4

// rerankMetadata makes a reranker of the generated model (GenOptions.Reranker). llama.cpp v0.5.0 scores a
// llama-architecture sequence under rank pooling with the first value of its first token's final hidden
// state (the architecture has no classification head to load), so attention must be non-causal: with causal
// attention the first token never sees the query or the document, and every document would score the same.
func rerankMetadata(o GenOptions) []KV {
	if !o.Reranker {
		return nil
	}
	return []KV{
		{Key: "llama.pooling_type", Type: TypeUint32, Value: uint32(poolingRank)},
		{Key: "llama.attention.causal", Type: TypeBool, Value: false},
	}
}
