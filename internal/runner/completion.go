package runner

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"custos/internal/llama"
)

func nowUnix() int64 { return time.Now().Unix() }

// startCompletion parses a completion request (OpenAI's or llama-server's native) and starts it.
func (s *Server) startCompletion(w http.ResponseWriter, r *http.Request, e *engine, ep endpoint) (*task, *completionRequest, bool) {
	if s.cfg.Embeddings {
		writeError(w, errCompletionsInEmbeddingMode)
		return nil, nil, false
	}
	var req completionRequest
	if err := s.decodeRequest(w, r, &req, ep); err != nil {
		writeError(w, err)
		return nil, nil, false
	}
	params, apiErr := s.resolveRequest(req.samplingFields, ep, e)
	if apiErr == nil {
		apiErr = e.constrain(&params, req.constraintFields)
	}
	if apiErr == nil {
		apiErr = e.lazyGrammar(&params, req.lazyGrammarFields)
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return nil, nil, false
	}
	prompt, apiErr := e.promptTokens(req.Prompt)
	if apiErr != nil {
		writeError(w, apiErr)
		return nil, nil, false
	}
	t, apiErr := e.startGeneration(r.Context(), prompt, params)
	if apiErr != nil {
		writeError(w, apiErr)
		return nil, nil, false
	}
	return t, &req, true
}

// handleOpenAICompletion serves POST /v1/completions (object "text_completion").
func (s *Server) handleOpenAICompletion(w http.ResponseWriter, r *http.Request, e *engine) {
	t, req, ok := s.startCompletion(w, r, e, epCompletions)
	if !ok {
		return
	}
	c := newTextChunker(e.alias, t.params, e.promptText(req.Prompt, t.prompt))
	if t.params.stream {
		streamTask(r.Context(), w, t, c, true)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	echoed := 0
	if t.params.scorePrompt {
		echoed = len(t.prompt)
	}
	order := bestChoices(outs, t.params.keepBest, echoed)
	choices := make([]map[string]any, len(order))
	for i, k := range order {
		text := outs[k].text.String()
		if t.params.echo {
			text = c.prompt + text
		}
		choices[i] = c.choice(i, text, outs[k].probs, res.choices[k].finishReason)
	}
	body := c.chunk(choices)
	body["usage"] = usage(res)
	body["timings"] = timings(res)
	writeJSON(w, http.StatusOK, body)
}

// bestChoices is the order in which choices are answered: all of them in index order, or (best_of) the
// keep ones with the highest mean log-probability per generated token, best first. The first echoed
// entries of each choice's probabilities are the prompt's, the same for all: they do not rank.
func bestChoices(outs []*choiceOutput, keep, echoed int) []int {
	order := make([]int, len(outs))
	for i := range order {
		order[i] = i
	}
	if keep == 0 {
		return order
	}
	mean := func(i int) float64 {
		var sum float64
		n := 0
		for _, p := range outs[i].probs[min(echoed, len(outs[i].probs)):] {
			sum += p.value
			n++
		}
		if n == 0 {
			return math.Inf(-1)
		}
		return sum / float64(n)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(mean(b), mean(a)) })
	return order[:keep]
}

// textChunker makes the text_completion objects of /v1/completions, streamed or whole. It tracks each
// choice's text length for the text_offset of OpenAI's legacy logprobs, which counts from the prompt's
// start: past the prompt, or from 0 when the prompt is echoed.
type textChunker struct {
	id, model string
	created   int64
	params    genParams
	prompt    string
	offsets   []int
}

func newTextChunker(model string, params genParams, prompt string) *textChunker {
	c := &textChunker{id: newID("cmpl-"), model: model, created: nowUnix(), params: params, prompt: prompt,
		offsets: make([]int, params.choices())}
	if !params.echo {
		for i := range c.offsets {
			c.offsets[i] = utf8.RuneCountInString(prompt)
		}
	}
	return c
}

// promptText is a completion prompt as text, for echo: as given, or the detokenized ids.
func (e *engine) promptText(in promptInput, prompt []llama.Token) string {
	if in.tokens == nil {
		return in.text
	}
	text, err := e.model.Detokenize(prompt)
	if err != nil {
		return ""
	}
	return text
}

func (c *textChunker) chunk(choices []map[string]any) map[string]any {
	ch := map[string]any{"id": c.id, "object": "text_completion", "created": c.created, "model": c.model,
		"choices": choices}
	if c.params.includeUsage {
		ch["usage"] = nil
	}
	return ch
}

// choice is one choice of a chunk or of the whole answer, with its logprobs (null unless asked for).
func (c *textChunker) choice(i int, text string, probs []tokenProb, finish any) map[string]any {
	var logprobs any
	if c.params.probs.want && !c.params.hideProbs {
		logprobs = legacyLogprobs(probs, c.offsets[i], c.params.probs.post)
	}
	c.offsets[i] += utf8.RuneCountInString(text)
	return map[string]any{"index": i, "text": text, "logprobs": logprobs, "finish_reason": finish}
}

func (c *textChunker) text(ev event) any {
	text := ev.text
	if ev.echo {
		text = c.prompt
	}
	ch := c.chunk([]map[string]any{c.choice(ev.choice, text, ev.probs, nil)})
	addTimings(ch, ev)
	if ev.progress != nil {
		ch["prompt_progress"] = ev.progress.json()
	}
	return ch
}

// addTimings adds the timings so far to a streamed chunk, when the request asked for them (timings_per_token).
func addTimings(chunk map[string]any, ev event) {
	if ev.timings != nil {
		chunk["timings"] = timings(ev.timings)
	}
}

func (c *textChunker) final(res *result) []any {
	var out []any
	for i, end := range res.choices {
		ch := c.chunk([]map[string]any{{"index": i, "text": "", "logprobs": nil, "finish_reason": end.finishReason}})
		out = append(out, ch)
	}
	if c.params.includeUsage {
		last := c.chunk([]map[string]any{})
		last["usage"] = usage(res)
		out = append(out, last)
	}
	out[len(out)-1].(map[string]any)["timings"] = timings(res)
	return out
}

// handleNativeCompletion serves llama-server's POST /completion: {"content": ..., "stop": true, ...}, or
// a stream of such objects, the last with "stop": true and the totals. With several choices (n_cmpl) the
// answer is an array of such objects, one per choice, as llama-server sends it; streamed, each chunk's
// "index" names its choice.
func (s *Server) handleNativeCompletion(w http.ResponseWriter, r *http.Request, e *engine) {
	t, _, ok := s.startCompletion(w, r, e, epNative)
	if !ok {
		return
	}
	c := newNativeChunker(e.alias, t.params, e.model.PromptText(t.prompt), len(t.prompt))
	if t.params.stream {
		streamTask(r.Context(), w, t, c, false)
		return
	}
	outs, res, ok := collectAnswer(w, r, t)
	if !ok {
		return
	}
	all := make([]map[string]any, len(outs))
	for i, out := range outs {
		all[i] = selectFields(c.result(i, out, res), t.params.responseFields)
	}
	if len(all) == 1 {
		writeJSON(w, http.StatusOK, all[0])
		return
	}
	writeJSON(w, http.StatusOK, all)
}

// nativeChunker makes llama-server's native completion objects. prompt is the prompt as llama-server
// echoes it, rendered from its tokens (BOS included), and promptTokens their number.
type nativeChunker struct {
	model        string
	params       genParams
	prompt       string
	promptTokens int
	// newLine records, per choice, whether its streamed text had a new line, for has_new_line.
	newLine []bool
}

func newNativeChunker(model string, params genParams, prompt string, promptTokens int) *nativeChunker {
	return &nativeChunker{model: model, params: params, prompt: prompt, promptTokens: promptTokens,
		newLine: make([]bool, params.choices())}
}

func (c *nativeChunker) text(ev event) any {
	if strings.Contains(ev.text, "\n") {
		c.newLine[ev.choice] = true
	}
	// Like llama-server's, each chunk carries the running count of the choice's generated tokens.
	chunk := map[string]any{"index": ev.choice, "content": ev.text, "tokens": tokenIDs(ev.tokens), "stop": false,
		"id_slot": ev.slot, "tokens_predicted": ev.predicted, "tokens_evaluated": c.promptTokens}
	if c.params.probs.want {
		chunk["completion_probabilities"] = nativeProbs(ev.probs, c.params.probs.post)
	}
	addTimings(chunk, ev)
	if ev.progress != nil {
		chunk["prompt_progress"] = ev.progress.json()
	}
	return chunk
}

func (c *nativeChunker) final(res *result) []any {
	out := make([]any, len(res.choices))
	for i := range res.choices {
		obj := c.result(i, &choiceOutput{}, res)
		obj["has_new_line"] = c.newLine[i]
		out[i] = selectFields(obj, c.params.responseFields)
	}
	return out
}

// result is the closing object of choice i, with its whole text (empty when streamed) and the totals.
func (c *nativeChunker) result(i int, out *choiceOutput, res *result) map[string]any {
	end := res.choices[i]
	content := out.text.String()
	tokens := []int{}
	if c.params.returnTokens {
		tokens = tokenIDs(out.tokens)
	}
	obj := map[string]any{
		"index":               i,
		"content":             content,
		"tokens":              tokens,
		"id_slot":             end.slot,
		"stop":                true,
		"model":               c.model,
		"tokens_predicted":    end.predicted,
		"tokens_evaluated":    res.promptTokens,
		"tokens_cached":       end.nPast,
		"prompt":              c.prompt,
		"has_new_line":        strings.Contains(content, "\n"),
		"truncated":           end.truncated,
		"stop_type":           end.stopType,
		"stopping_word":       end.stoppingWord,
		"generation_settings": generationSettings(c.params, false),
		"timings":             timings(res.ofChoice(i)),
	}
	if c.params.probs.want && len(out.probs) > 0 {
		obj["completion_probabilities"] = nativeProbs(out.probs, c.params.probs.post)
	}
	return obj
}

// selectFields keeps the fields of obj that response_fields names, as llama-server does: a path "a/b"
// takes obj["a"]["b"] and puts it under the key "a/b"; a path that leads nowhere is left out. No paths
// keep everything.
func selectFields(obj map[string]any, paths []string) map[string]any {
	if len(paths) == 0 {
		return obj
	}
	out := make(map[string]any, len(paths))
	for _, path := range paths {
		var cur any = obj
		found := true
		for _, key := range strings.Split(path, "/") {
			m, ok := cur.(map[string]any)
			if !ok {
				found = false
				break
			}
			if cur, ok = m[key]; !ok {
				found = false
				break
			}
		}
		if found {
			out[path] = cur
		}
	}
	return out
}

// tokenIDs is a token list as JSON numbers (never null).
func tokenIDs(toks []llama.Token) []int {
	out := make([]int, len(toks))
	for i, t := range toks {
		out[i] = int(t)
	}
	return out
}
