package runner

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"custos/internal/llama"
)

func TestPoolingFlags(t *testing.T) {
	for _, c := range []struct {
		cfg        Config
		pooling    llama.Pooling
		reranking  bool
		embeddings bool
		err        string
	}{
		{cfg: Config{}, pooling: 0},
		{cfg: Config{Embeddings: true}, pooling: 0, embeddings: true},
		{cfg: Config{Embeddings: true, Pooling: "last"}, pooling: llama.PoolingLast, embeddings: true},
		{cfg: Config{Reranking: true}, pooling: llama.PoolingRank, reranking: true, embeddings: true},
		{cfg: Config{Embeddings: true, Pooling: "rank"}, pooling: llama.PoolingRank, reranking: true, embeddings: true},
		{cfg: Config{Reranking: true, Pooling: "mean"}, err: "--reranking needs rank pooling"},
		{cfg: Config{Embeddings: true, Pooling: "none"}, pooling: llama.PoolingNone, embeddings: true},
		{cfg: Config{Embeddings: true, Pooling: "max"}, err: `--pooling "max" is not supported`},
		{cfg: Config{Pooling: "mean"}, err: "--pooling applies to --embeddings"},
	} {
		c.cfg.ModelPath = "m.gguf"
		got, err := c.cfg.withDefaults()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: error %v, want one with %q", c.cfg, err, c.err)
			}
			continue
		}
		if err != nil || got.pooling() != c.pooling || got.reranking() != c.reranking || got.Embeddings != c.embeddings {
			t.Errorf("%+v: pooling %d, reranking %v, embeddings %v (%v); want %d, %v, %v", c.cfg, got.pooling(),
				got.reranking(), got.Embeddings, err, c.pooling, c.reranking, c.embeddings)
		}
	}
}

// TestPoolingNoneGivesOneVectorPerToken: under --pooling none the native /embeddings answers one vector of
// the model's width per prompt token, not normalized, for each input; /v1/embeddings, whose shape has one
// vector per input, answers 400 as llama-server does.
func TestPoolingNoneGivesOneVectorPerToken(t *testing.T) {
	base := serveRunner(t, Config{CtxSize: 512, Parallel: 2, Embeddings: true, Pooling: "none"})
	f := &fixture{base: base}
	var ids struct {
		Tokens []int `json:"tokens"`
	}
	f.postOK(t, "/tokenize", map[string]any{"content": "wide world", "add_special": true}, &ids)
	var models struct {
		Data []struct {
			Meta struct {
				NEmbd int `json:"n_embd"`
			} `json:"meta"`
		} `json:"data"`
	}
	if status, raw := f.get(t, "/v1/models"); status != http.StatusOK || json.Unmarshal(raw, &models) != nil || len(models.Data) != 1 {
		t.Fatalf("/v1/models: %d %s", status, raw)
	}
	width := models.Data[0].Meta.NEmbd
	var got []struct {
		Index     int         `json:"index"`
		Embedding [][]float64 `json:"embedding"`
	}
	f.postOK(t, "/embeddings", map[string]any{"input": []string{"hello", "wide world"}}, &got)
	if len(got) != 2 || got[1].Index != 1 || len(got[1].Embedding) != len(ids.Tokens) {
		t.Fatalf("answer of %d inputs; want 2, the second with %d vectors (one per token)", len(got), len(ids.Tokens))
	}
	for _, v := range got[1].Embedding {
		var norm float64
		for _, x := range v {
			norm += x * x
		}
		if len(v) != width || (norm > 0.99 && norm < 1.01) {
			t.Errorf("a token's vector has %d values and squared norm %g; want the model's %d, as computed (not unit)", len(v), norm, width)
		}
	}
	for _, body := range []map[string]any{{"input": "hello"}, {"content": "hello"}} {
		status, raw := f.post(t, "/v1/embeddings", body)
		var e struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if status != http.StatusBadRequest || json.Unmarshal(raw, &e) != nil || !strings.Contains(e.Error.Message, "Pooling type 'none'") {
			t.Errorf("/v1/embeddings %v under pooling none: %d %s; want 400 naming the pooling", body, status, raw)
		}
	}
}
