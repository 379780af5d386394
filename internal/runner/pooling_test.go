package runner

import (
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
		{cfg: Config{Embeddings: true, Pooling: "none"}, err: `--pooling "none" is not supported`},
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
