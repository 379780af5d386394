package llama

import "testing"

// TestSampleForcedPicksTheForcedToken forces a token the seeded chain would not pick on its own: it must come
// out, on every draw, whatever the temperature.
func TestSampleForcedPicksTheForcedToken(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	c := newContext(t, m, ContextParams{NCtx: 256})
	prompt := tokens(t, m, testPrompt)
	b := newBatch(t, len(prompt), 1)
	fillPrompt(b, prompt, 0, 0)
	decode(t, c, b)
	last := int32(len(prompt) - 1)
	p := SamplerParams{Seed: 7, Temperature: 1.5, TopK: 20, TopP: 0.9}
	free := NewSampler(m, p)
	defer free.Close()
	forced := free.Sample(c, last) + 1
	s := NewSampler(m, p)
	defer s.Close()
	for i := range 5 {
		got, left := s.SampleForced(c, last, forced)
		if got != forced {
			t.Fatalf("draw %d: SampleForced picked %d, want the forced %d", i, got, forced)
		}
		if len(left) == 0 || left[0].ID != forced {
			t.Fatalf("draw %d: the candidates left are %v, want only the forced token", i, left)
		}
	}
}
