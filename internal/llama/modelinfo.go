package llama

// VocabType is the model's vocabulary type as llama.cpp numbers it (llama_vocab_type: 1 SentencePiece,
// 2 byte-level BPE, ...), the figure llama-server reports as vocab_type.
func (m *Model) VocabType() int { return int(llamaVocabType(m.vocab)) }

// FileType names the type of the model's weights as llama.cpp does ("all F32", "Q4_K - Medium"), the
// figure llama-server reports as ftype.
func (m *Model) FileType() string { return llamaFtypeName(llamaModelFtype(m.ptr)) }
