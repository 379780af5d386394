package llama

// TokenNull is llama.cpp's LLAMA_TOKEN_NULL: the model has no such token.
const TokenNull Token = -1

// FIMTokens are a model's fill-in-the-middle tokens (tokenizer.ggml.fim_*_token_id, or found by their text
// when the metadata names none); an absent one is TokenNull.
type FIMTokens struct {
	// Prefix, Suffix and Middle open the code before the gap, the code after it, and the text to fill in.
	Prefix, Suffix, Middle Token
	// Repo opens a repository name and Sep a file name, in the repository-level pattern of Qwen2.5-Coder.
	Repo, Sep Token
}

// FIMTokens returns the model's fill-in-the-middle tokens.
func (m *Model) FIMTokens() FIMTokens {
	return FIMTokens{Prefix: llamaVocabFIMPre(m.vocab), Suffix: llamaVocabFIMSuf(m.vocab),
		Middle: llamaVocabFIMMid(m.vocab), Repo: llamaVocabFIMRep(m.vocab), Sep: llamaVocabFIMSep(m.vocab)}
}

// AddBOS reports whether the model's tokenizer puts BOS in front of a text tokenized with special tokens.
func (m *Model) AddBOS() bool { return llamaVocabGetAddBOS(m.vocab) }

// PromptText renders tokens as llama-server shows a prompt in its answers: the text of every token,
// control tokens (BOS, FIM markers) included, detokenized as a whole.
func (m *Model) PromptText(tokens []Token) string {
	text, err := m.detokenize(tokens, false)
	if err != nil {
		return ""
	}
	return text
}
