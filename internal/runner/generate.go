package runner

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"

	"custos/internal/llama"
)

// errCompletionsInEmbeddingMode answers generation requests to a server started with --embeddings, whose
// context computes pooled embeddings and no logits (llama-server of this release generates there too; the
// conformance suite lists the difference).
var errCompletionsInEmbeddingMode = &apiError{Status: http.StatusNotImplemented, Type: typeNotSupported,
	Message: "This server does not support completions. Start it without `--embeddings`"}

// tokenizeText turns prompt text into tokens as llama-server does: with the model's BOS, and special-token
// text (such as a chat template's markers) read as the special tokens.
func (e *engine) tokenizeText(text string) ([]llama.Token, *apiError) {
	toks, err := e.model.Tokenize(text, true, true)
	if err != nil {
		return nil, badRequest("tokenizing the prompt: %v", err)
	}
	return toks, nil
}

// checkTokenIDs converts client token ids, refusing ids outside the vocabulary (llama.cpp would abort on them).
func (e *engine) checkTokenIDs(field string, ids []int) ([]llama.Token, *apiError) {
	toks := make([]llama.Token, len(ids))
	for i, id := range ids {
		tok, err := e.checkTokenID(field, i, id)
		if err != nil {
			return nil, err
		}
		toks[i] = tok
	}
	return toks, nil
}

// checkTokenID converts the client token id at index of field.
func (e *engine) checkTokenID(field string, index, id int) (llama.Token, *apiError) {
	if n := e.model.NVocab(); id < 0 || id >= n {
		return 0, badRequest("%q: token id %d at index %d is outside the vocabulary (0 to %d)", field, id, index, n-1)
	}
	return llama.Token(id), nil
}

// promptTokens tokenizes a completion prompt given as text or token ids.
func (e *engine) promptTokens(p promptInput) ([]llama.Token, *apiError) {
	if !p.given {
		return nil, badRequest("\"prompt\" is required")
	}
	if p.tokens != nil {
		return e.checkTokenIDs("prompt", p.tokens)
	}
	return e.tokenizeText(p.text)
}

// checkPromptFits refuses an empty prompt, and one that leaves no room in a slot's context for a single
// generated token.
func (e *engine) checkPromptFits(prompt []llama.Token) *apiError {
	if len(prompt) == 0 {
		return badRequest("the prompt is empty")
	}
	if len(prompt) >= e.slotCtx {
		return exceedContext(len(prompt), e.slotCtx, fmt.Sprintf(
			"the request exceeds the available context size: the prompt has %d tokens and a slot holds %d; "+
				"shorten the prompt or start the runner with a larger -c/--ctx-size (or fewer -np/--parallel slots)",
			len(prompt), e.slotCtx))
	}
	return nil
}

// startGeneration validates a prompt and hands it to the scheduler.
func (e *engine) startGeneration(ctx context.Context, prompt []llama.Token, params genParams) (*task, *apiError) {
	if err := e.checkPromptFits(prompt); err != nil {
		return nil, err
	}
	t := newTask(ctx, prompt, params.withinContext(e.slotCtx), false, e.slotCtx)
	if err := e.sched.enqueue(t); err != nil {
		return nil, err
	}
	return t, nil
}

// nextEvent waits for t's next event; false means the client went away first.
func nextEvent(ctx context.Context, t *task) (event, bool) {
	select {
	case ev := <-t.events:
		return ev, true
	case <-ctx.Done():
		return event{}, false
	}
}

// choiceOutput is the whole output of one choice.
type choiceOutput struct {
	text   strings.Builder
	tokens []llama.Token
	probs  []tokenProb
}

// collect gathers the whole output of each of a task's choices, and its result; false means the client went
// away.
func collect(ctx context.Context, t *task) ([]*choiceOutput, *result, bool) {
	out := make([]*choiceOutput, t.params.choices())
	for i := range out {
		out[i] = &choiceOutput{}
	}
	for {
		ev, ok := nextEvent(ctx, t)
		if !ok {
			return nil, nil, false
		}
		if ev.final != nil {
			return out, ev.final, true
		}
		c := out[ev.choice]
		c.text.WriteString(ev.text)
		c.tokens = append(c.tokens, ev.tokens...)
		c.probs = append(c.probs, ev.probs...)
	}
}

// collectAnswer is collect for a handler that answers whole: false when the client went away, or when the
// task failed, whose error it has then answered.
func collectAnswer(w http.ResponseWriter, r *http.Request, t *task) ([]*choiceOutput, *result, bool) {
	outs, res, ok := collect(r.Context(), t)
	if ok && res.err != nil {
		writeError(w, res.err)
		return nil, nil, false
	}
	return outs, res, ok
}

// newID makes a response id such as "chatcmpl-…".
func newID(prefix string) string { return prefix + rand.Text() }

// usage is OpenAI's token accounting of a finished task: the prompt once, and the tokens of every choice.
func usage(res *result) map[string]any {
	return map[string]any{"prompt_tokens": res.promptTokens, "completion_tokens": res.predicted,
		"total_tokens":          res.promptTokens + res.predicted,
		"prompt_tokens_details": map[string]int{"cached_tokens": res.cachedTokens}}
}

// timings is llama-server's speed report of a finished task. As in llama-server, the generation rates
// count decode steps, not tokens: each choice's first token comes from the prompt's logits, before the
// generation time starts.
func timings(res *result) map[string]any {
	promptMS := float64(res.promptTime.Microseconds()) / 1000
	predictMS := float64(res.predictTime.Microseconds()) / 1000
	steps := max(res.predicted-max(len(res.choices), 1), 0)
	return map[string]any{
		"cache_n":                res.cachedTokens,
		"prompt_n":               res.promptEvaluated,
		"prompt_ms":              promptMS,
		"prompt_per_token_ms":    perToken(res.promptEvaluated, promptMS),
		"prompt_per_second":      perSecond(res.promptEvaluated, promptMS),
		"predicted_n":            res.predicted,
		"predicted_ms":           predictMS,
		"predicted_per_token_ms": perToken(steps, predictMS),
		"predicted_per_second":   perSecond(steps, predictMS),
	}
}

func perSecond(n int, ms float64) float64 {
	if ms <= 0 {
		return 0
	}
	return float64(n) * 1000 / ms
}

func perToken(n int, ms float64) float64 {
	if n <= 0 {
		return 0
	}
	return ms / float64(n)
}
