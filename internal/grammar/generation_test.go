package grammar

import (
	"encoding/json"
	"strings"
	"testing"

	"custos/internal/llama"
)

// TestSampledDocumentsAreValidJSON samples from the random model under each schema's grammar, at a
// temperature that makes it wander, and checks that every document that ends is JSON. A random model
// rarely closes a free string, so some samples run out of tokens: at least half must end.
func TestSampledDocumentsAreValidJSON(t *testing.T) {
	m := model(t)
	c, err := llama.NewContext(m, llama.ContextParams{NCtx: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := llama.NewBatch(512, 1)
	defer b.Close()
	prompt, err := m.Tokenize("JSON:", true, false)
	if err != nil {
		t.Fatal(err)
	}
	const maxTokens = 300
	samples, ended := 0, 0
	for _, tc := range schemaCases {
		t.Run(tc.name, func(t *testing.T) {
			gbnf := convert(t, tc.schema)
			g := parse(t, gbnf)
			for seed := uint32(1); seed <= 3; seed++ {
				text, ok := sample(t, m, c, b, prompt, llama.SamplerParams{Grammar: g, Seed: seed, Temperature: 1, TopK: 40}, maxTokens)
				samples++
				if !ok {
					t.Logf("seed %d: no end within %d tokens: %.60q...", seed, maxTokens, text)
					continue
				}
				ended++
				if !json.Valid([]byte(text)) {
					t.Errorf("seed %d: sampled %q, which is not JSON\n%s", seed, text, gbnf)
				}
			}
		})
	}
	t.Logf("%d of %d samples ended within %d tokens", ended, samples, maxTokens)
	if ended*2 < samples {
		t.Errorf("only %d of %d samples ended within %d tokens", ended, samples, maxTokens)
	}
}

// sample generates from prompt with p on sequence 0 of c (emptied first) until an end of generation or n
// tokens, and returns the text and whether it ended.
func sample(t *testing.T, m *llama.Model, c *llama.Context, b *llama.Batch, prompt []llama.Token, p llama.SamplerParams, n int) (string, bool) {
	t.Helper()
	c.ClearMemory()
	s := llama.NewSampler(m, p)
	defer s.Close()
	b.Clear()
	for i, tok := range prompt {
		b.Add(tok, int32(i), []int32{0}, i == len(prompt)-1)
	}
	if err := c.Decode(b); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for pos := len(prompt); pos < len(prompt)+n; pos++ {
		tok := s.Sample(c, int32(b.Len()-1))
		if m.IsEOG(tok) {
			return text.String(), true
		}
		text.Write(m.TokenPiece(tok))
		b.Clear()
		b.Add(tok, int32(pos), []int32{0}, true)
		if err := c.Decode(b); err != nil {
			t.Fatal(err)
		}
	}
	return text.String(), false
}
