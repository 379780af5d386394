package runner

import (
	"errors"
	"fmt"

	"custos/internal/llama"
)

// poolingRank is the --pooling value of a reranking server.
const poolingRank = "rank"

// poolings maps the --pooling values to llama.cpp's pooling kinds. "none" (one vector per token) is left
// out: /v1/embeddings answers one pooled vector per input.
var poolings = map[string]llama.Pooling{
	"mean": llama.PoolingMean, "cls": llama.PoolingCLS, "last": llama.PoolingLast, poolingRank: llama.PoolingRank,
}

// resolvePooling applies Reranking (Embeddings with rank pooling) and checks Pooling.
func (c *Config) resolvePooling() error {
	if c.Reranking {
		if c.Pooling != "" && c.Pooling != poolingRank {
			return fmt.Errorf("runner: --reranking needs rank pooling, not --pooling %s", c.Pooling)
		}
		c.Embeddings, c.Pooling = true, poolingRank
	}
	if c.Pooling == "" {
		return nil
	}
	if _, ok := poolings[c.Pooling]; !ok {
		return fmt.Errorf("runner: --pooling %q is not supported: use mean, cls, last or rank", c.Pooling)
	}
	if !c.Embeddings {
		return errors.New("runner: --pooling applies to --embeddings (or --reranking); give one of them")
	}
	return nil
}

// pooling is the llama.cpp pooling of the server's embeddings context (zero: the binding's default, mean).
func (c Config) pooling() llama.Pooling { return poolings[c.Pooling] }

// reranking reports whether the server scores documents on /rerank, as llama-server does when started with
// --embeddings and rank pooling.
func (c Config) reranking() bool { return c.Embeddings && c.Pooling == poolingRank }
