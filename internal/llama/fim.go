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

// PromptText renders tokens as llama-server shows a prompt it built from tokens: each token's text, control
// tokens (BOS, FIM markers) included.
func (m *Model) PromptText(tokens []Token) string {
	var out []byte
	buf := make([]byte, 64)
	for _, t := range tokens {
		n := llamaTokenToPiece(m.vocab, t, &buf[0], int32(len(buf)), 0, true)
		if n < 0 {
			buf = make([]byte, -n)
			n = llamaTokenToPiece(m.vocab, t, &buf[0], int32(len(buf)), 0, true)
		}
		out = append(out, buf[:max(n, 0)]...)
	}
	return string(out)
}
