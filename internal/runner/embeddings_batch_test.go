package runner

import (
	"math"
	"testing"
)

// An input's embedding must not depend on what else was embedded with it. llama.cpp v0.5.0 pools the
// second sequence of a batch wrongly, so the runner decodes pooled sequences one per batch; without that,
// the inputs of one request land in one decode and the second comes back as another vector.
func TestEmbeddingsDoNotDependOnTheBatch(t *testing.T) {
	f := runnerFor(t, true)
	type answer struct {
		Data []struct {
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
	}
	var alone, together answer
	f.postOK(t, "/v1/embeddings", map[string]any{"input": "wide world"}, &alone)
	for range 5 {
		f.postOK(t, "/v1/embeddings", map[string]any{"input": []string{"hello", "wide world", "hello again"}}, &together)
		if len(together.Data) != 3 || len(alone.Data) != 1 {
			t.Fatalf("got %d and %d embeddings", len(together.Data), len(alone.Data))
		}
		for i, x := range alone.Data[0].Embedding {
			if d := math.Abs(x - together.Data[1].Embedding[i]); d > 1e-5 {
				t.Fatalf("component %d of \"wide world\": %v alone, %v among other inputs", i, x, together.Data[1].Embedding[i])
			}
		}
	}
}
