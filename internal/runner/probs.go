package runner

import (
	"cmp"
	"math"
	"slices"
	"unicode/utf8"

	"custos/internal/llama"
)

// probsRequest is what a request asked to know about the probabilities of the generated tokens.
type probsRequest struct {
	// want reports each generated token's probability; n is how many of the likeliest alternatives come
	// with it.
	want bool
	n    int
	// post reports the probabilities the sampler chain left (llama-server's post_sampling_probs) instead of
	// the model's own distribution over the whole vocabulary.
	post bool
}

// tokenProb is one generated token with its probability and the likeliest alternatives, most likely first.
// value is a natural-log probability, or, for post-sampling probabilities, a probability.
type tokenProb struct {
	id    llama.Token
	piece []byte
	value float64
	top   []candidateProb
	// unscored marks the first prompt token of an echo, which nothing predicts: OpenAI sends null for it.
	unscored bool
}

// candidateProb is one alternative of a tokenProb.
type candidateProb struct {
	id    llama.Token
	piece []byte
	value float64
}

// preSamplingProbs is the probability of tok and of the n likeliest tokens under the softmax of the raw
// logits over the whole vocabulary, as natural logs: the model's own distribution, before temperature and
// the other samplers, which is what llama-server reports by default.
func preSamplingProbs(m *llama.Model, logits []float32, tok llama.Token, n int) *tokenProb {
	maxLogit := float32(math.Inf(-1))
	for _, l := range logits {
		maxLogit = max(maxLogit, l)
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l - maxLogit))
	}
	logSum := math.Log(sum)
	logProb := func(id llama.Token) float64 { return finite(float64(logits[id]-maxLogit) - logSum) }
	out := &tokenProb{id: tok, piece: m.TokenPiece(tok), value: logProb(tok)}
	for _, id := range topLogits(logits, n) {
		out.top = append(out.top, candidateProb{id: id, piece: m.TokenPiece(id), value: logProb(id)})
	}
	return out
}

// topLogits returns the ids of the n largest logits, largest first (ties: lower id first), in one pass
// that keeps a short sorted list, as n is small next to the vocabulary.
func topLogits(logits []float32, n int) []llama.Token {
	n = min(n, len(logits))
	if n <= 0 {
		return nil
	}
	top := make([]llama.Token, 0, n+1)
	for i, l := range logits {
		if len(top) == n && l <= logits[top[n-1]] {
			continue
		}
		at, _ := slices.BinarySearchFunc(top, l, func(id llama.Token, l float32) int {
			// Descending order; an equal logit goes after the ones already there.
			if logits[id] >= l {
				return -1
			}
			return 1
		})
		top = slices.Insert(top, at, llama.Token(i))
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

// postSamplingProbs is the probability of tok and of the n likeliest candidates the sampler chain left, as
// the chain's last stage gave them. A greedy chain gives none: its choice was certain, so tok alone comes
// with probability 1, as llama-server reports for temperature 0.
func postSamplingProbs(m *llama.Model, left []llama.TokenData, tok llama.Token, n int) *tokenProb {
	var total float64
	for _, c := range left {
		total += float64(c.P)
	}
	if total == 0 {
		out := &tokenProb{id: tok, piece: m.TokenPiece(tok), value: 1}
		if n > 0 {
			out.top = []candidateProb{{id: tok, piece: out.piece, value: 1}}
		}
		return out
	}
	sorted := slices.Clone(left)
	slices.SortStableFunc(sorted, func(a, b llama.TokenData) int { return cmp.Compare(b.P, a.P) })
	out := &tokenProb{id: tok, piece: m.TokenPiece(tok)}
	for _, c := range sorted {
		if c.ID == tok {
			out.value = float64(c.P)
			break
		}
	}
	for _, c := range sorted[:min(n, len(sorted))] {
		if c.P == 0 {
			break
		}
		out.top = append(out.top, candidateProb{id: c.ID, piece: m.TokenPiece(c.ID), value: float64(c.P)})
	}
	return out
}

// finite keeps a log-probability encodable in JSON: the log of a zero probability becomes the lowest
// float32, as llama-server sends it.
func finite(x float64) float64 {
	if math.IsInf(x, -1) || math.IsNaN(x) {
		return -math.MaxFloat32
	}
	return x
}

// asLog is a reported value as a log-probability: post-sampling values are probabilities.
func asLog(v float64, post bool) float64 {
	if post {
		return finite(math.Log(v))
	}
	return v
}

// validText is the longest valid UTF-8 prefix of a token's piece: a token may hold part of a character.
func validText(piece []byte) string {
	n := 0
	for n < len(piece) {
		r, size := utf8.DecodeRune(piece[n:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		n += size
	}
	return string(piece[:n])
}

// byteList is a piece as the JSON array of byte values OpenAI sends ([]byte would be base64).
func byteList(piece []byte) []int {
	out := make([]int, len(piece))
	for i, b := range piece {
		out[i] = int(b)
	}
	return out
}

// chatLogprobs is OpenAI's chat shape: choices[].logprobs.content, one entry per token, each with the token
// id too, as llama-server adds.
// Post-sampling probabilities are sent as their logs, as the shape says.
func chatLogprobs(probs []tokenProb, post bool) map[string]any {
	content := make([]map[string]any, len(probs))
	for i, p := range probs {
		top := make([]map[string]any, len(p.top))
		for j, c := range p.top {
			top[j] = map[string]any{"id": c.id, "token": validText(c.piece), "logprob": asLog(c.value, post),
				"bytes": byteList(c.piece)}
		}
		content[i] = map[string]any{"id": p.id, "token": validText(p.piece), "logprob": asLog(p.value, post),
			"bytes": byteList(p.piece), "top_logprobs": top}
	}
	return map[string]any{"content": content, "refusal": nil}
}

// legacyLogprobs is OpenAI's /v1/completions shape: parallel arrays of the tokens, their log-probabilities,
// their alternatives as {token: logprob} objects, and each token's character offset in the prompt followed
// by the completion (offset is where the first token starts). Post-sampling probabilities are sent as logs.
func legacyLogprobs(probs []tokenProb, offset int, post bool) map[string]any {
	tokens := make([]string, len(probs))
	logprobs := make([]any, len(probs))
	tops := make([]any, len(probs))
	offsets := make([]int, len(probs))
	for i, p := range probs {
		tokens[i] = validText(p.piece)
		offsets[i] = offset
		offset += utf8.RuneCount(p.piece)
		if p.unscored {
			continue
		}
		logprobs[i] = asLog(p.value, post)
		top := make(map[string]float64, len(p.top))
		for _, c := range p.top {
			top[validText(c.piece)] = asLog(c.value, post)
		}
		tops[i] = top
	}
	return map[string]any{"tokens": tokens, "token_logprobs": logprobs, "top_logprobs": tops, "text_offset": offsets}
}

// nativeProbs is llama-server's completion_probabilities: per token its id, text, bytes and logprob with
// top_logprobs, or, for post-sampling probabilities, prob with top_probs.
func nativeProbs(probs []tokenProb, post bool) []map[string]any {
	valueKey, topKey := "logprob", "top_logprobs"
	if post {
		valueKey, topKey = "prob", "top_probs"
	}
	out := make([]map[string]any, len(probs))
	for i, p := range probs {
		top := make([]map[string]any, len(p.top))
		for j, c := range p.top {
			top[j] = map[string]any{"id": c.id, "token": validText(c.piece), "bytes": byteList(c.piece), valueKey: c.value}
		}
		out[i] = map[string]any{"id": p.id, "token": validText(p.piece), "bytes": byteList(p.piece), valueKey: p.value,
			topKey: top}
	}
	return out
}
