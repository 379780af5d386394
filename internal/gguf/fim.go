package gguf

// The fill-in-the-middle tokens of a generated model with GenOptions.FIMTokens, in the Qwen2.5-Coder
// spelling. They come after every other token, so the ids of a model without them stay the same.
const (
	fimPrefixToken = "<|fim_prefix|>"
	fimSuffixToken = "<|fim_suffix|>"
	fimMiddleToken = "<|fim_middle|>"
)

// fimTokens lists the FIM tokens with the metadata key that names each one's id.
var fimTokens = []struct{ piece, key string }{
	{fimPrefixToken, "tokenizer.ggml.fim_pre_token_id"},
	{fimSuffixToken, "tokenizer.ggml.fim_suf_token_id"},
	{fimMiddleToken, "tokenizer.ggml.fim_mid_token_id"},
}

// addFIMTokens appends the FIM tokens as control tokens: their output rows are zero like the other control
// tokens', so a random model rarely samples them.
func (v *vocab) addFIMTokens() {
	for _, t := range fimTokens {
		v.add(t.piece, 0, tokenControl)
	}
}

// fimMetadata names the FIM tokens' ids when v has them.
func fimMetadata(o GenOptions, v vocab) []KV {
	if !o.FIMTokens {
		return nil
	}
	kvs := make([]KV, 0, len(fimTokens))
	for _, t := range fimTokens {
		for id, piece := range v.tokens {
			if piece == t.piece {
				kvs = append(kvs, KV{Key: t.key, Type: TypeUint32, Value: uint32(id)})
				break
			}
		}
	}
	return kvs
}
