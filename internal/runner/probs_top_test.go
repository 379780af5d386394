package runner

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"custos/internal/llama"
)

// TestTopLogitsAgreesWithASort compares the one-pass top-n selection with sorting the whole vocabulary,
// on random logits with many ties, for n from 0 past the vocabulary's size.
func TestTopLogitsAgreesWithASort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 500)
	for i := range logits {
		logits[i] = float32(rng.IntN(60)) / 4 // ties on purpose
	}
	sorted := make([]llama.Token, len(logits))
	for i := range sorted {
		sorted[i] = llama.Token(i)
	}
	slices.SortStableFunc(sorted, func(a, b llama.Token) int { return cmp.Compare(logits[b], logits[a]) })
	for _, n := range []int{0, 1, 2, 5, 20, 499, 500, 800} {
		got := topLogits(logits, n)
		want := sorted[:min(n, len(sorted))]
		if len(want) == 0 {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Fatalf("topLogits(n=%d) = %v, want %v", n, got[:min(len(got), 10)], want[:min(len(want), 10)])
		}
	}
}
