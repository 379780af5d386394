package runner

import (
	"errors"
	"fmt"

	"custos/internal/llama"
)

// poolingRank is the --pooling value of a reranking server.
const poolingRank = "rank"

// poolingNone is the --pooling value that keeps one vector per token: the native /embeddings answers them
// all, and /v1/embeddings, whose inputs each have one vector, refuses to serve (errPoolingNoneOnOpenAI).
const poolingNone = "none"

// poolings maps the --pooling values to llama.cpp's pooling kinds.
var poolings = map[string]llama.Pooling{
	"mean": llama.PoolingMean, "cls": llama.PoolingCLS, "last": llama.PoolingLast, poolingRank: llama.PoolingRank,
	poolingNone: llama.PoolingNone,
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
		return fmt.Errorf("runner: --pooling %q is not supported: use none, mean, cls, last or rank", c.Pooling)
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
