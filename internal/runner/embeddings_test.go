package runner

import (
	"math"
	"net/http"
	"testing"
)

func TestEmbeddingsHaveTheModelsWidth(t *testing.T) {
	f := runnerFor(t, true)
	var r struct {
		Object string `json:"object"`
		Data   []struct {
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	f.postOK(t, "/v1/embeddings", map[string]any{"input": []string{"first text", "second, different text"}}, &r)
	var models struct {
		Data []struct {
			Meta struct {
				NEmbd int `json:"n_embd"`
			} `json:"meta"`
		} `json:"data"`
	}
	_, body := f.get(t, "/v1/models")
	mustJSON(t, body, &models)
	width := models.Data[0].Meta.NEmbd
	if width != 64 || len(r.Data) != 2 || r.Usage.PromptTokens == 0 {
		t.Fatalf("n_embd %d, %d embeddings, usage %+v", width, len(r.Data), r.Usage)
	}
	for i, d := range r.Data {
		if d.Index != i || len(d.Embedding) != width {
			t.Fatalf("embedding %d: index %d, width %d, want %d", i, d.Index, len(d.Embedding), width)
		}
		var norm float64
		for _, x := range d.Embedding {
			norm += x * x
		}
		if math.Abs(math.Sqrt(norm)-1) > 1e-3 {
			t.Fatalf("embedding %d has norm %v, want 1", i, math.Sqrt(norm))
		}
	}
	if equalVectors(r.Data[0].Embedding, r.Data[1].Embedding) {
		t.Fatal("different texts gave the same embedding")
	}
}

func equalVectors(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEmbeddingModeAndCompletionModeRefuseEachOther(t *testing.T) {
	gen, emb := runnerFor(t, false), runnerFor(t, true)
	if status, body := gen.post(t, "/v1/embeddings", `{"input":"x"}`); status != http.StatusNotImplemented {
		t.Fatalf("embeddings without --embeddings: %d %s", status, body)
	}
	if status, body := emb.post(t, "/v1/chat/completions", chatBody("x", nil)); status != http.StatusNotImplemented {
		t.Fatalf("chat with --embeddings: %d %s", status, body)
	}
}
