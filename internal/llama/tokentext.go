package llama

// TokenText is a token's text with control tokens written out ("<s>", "<|im_end|>"), as chat templates
// print them in bos_token and eos_token; TokenPiece gives control tokens no text.
func (m *Model) TokenText(t Token) string {
	buf := make([]byte, 16)
	for {
		n := llamaTokenToPiece(m.vocab, t, &buf[0], int32(len(buf)), 0, true)
		if n >= 0 {
			return string(buf[:n])
		}
		buf = make([]byte, -n)
	}
}
