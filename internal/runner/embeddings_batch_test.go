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

// llama-server's own embedding routes, and "content" on the OpenAI one, answer an array of
// {"index", "embedding": [vector]} holding the same vectors as OpenAI's shape.
func TestNativeEmbeddingShape(t *testing.T) {
	f := runnerFor(t, true)
	var openAI struct {
		Data []struct {
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
	}
	f.postOK(t, "/v1/embeddings", map[string]any{"input": []string{"hello", "world"}}, &openAI)
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{"/embeddings", map[string]any{"input": []string{"hello", "world"}}},
		{"/embedding", map[string]any{"content": []string{"hello", "world"}}},
		{"/v1/embeddings", map[string]any{"content": []string{"hello", "world"}}},
	} {
		var native []struct {
			Index     int         `json:"index"`
			Embedding [][]float64 `json:"embedding"`
		}
		f.postOK(t, tc.path, tc.body, &native)
		if len(native) != 2 {
			t.Fatalf("%s: %d results, want 2", tc.path, len(native))
		}
		for i, r := range native {
			if r.Index != i || len(r.Embedding) != 1 || len(r.Embedding[0]) != len(openAI.Data[i].Embedding) {
				t.Fatalf("%s: result %d is %+v", tc.path, i, r)
			}
			for j, x := range r.Embedding[0] {
				if math.Abs(x-openAI.Data[i].Embedding[j]) > 1e-6 {
					t.Fatalf("%s: input %d component %d: %v, OpenAI shape %v", tc.path, i, j, x, openAI.Data[i].Embedding[j])
				}
			}
		}
	}
}
