package runner

import (
	"context"
	"encoding/json"
	"time"

	"custos/internal/llama"
)

// task is one request handed to the scheduler: a prompt to continue (or to embed) and where to send the
// output. The handler keeps ctx: when the client goes away, the scheduler sees ctx done and frees the slots.
type task struct {
	ctx    context.Context
	prompt []llama.Token
	params genParams
	// embed asks for the prompt's pooled embedding instead of generated text.
	embed bool
	// settings are params as /slots shows them.
	settings json.RawMessage
	// loraScales are the LoRA scales it runs with, one per adapter, set by the scheduler when it places
	// the task (see loraFor).
	loraScales []float32
	// events receives the text of every choice as it is generated, then exactly one event with the final
	// result. Its buffer holds every event the task can produce, so the scheduler never blocks on a slow
	// client.
	events chan event
}

// event is one piece of a task's output: text of one choice, or, last, the result.
type event struct {
	text string
	// choice is the index of the choice the text belongs to (0 unless the request asked for several).
	choice int
	// slot is the slot generating the text, which llama-server's native stream reports in every chunk.
	slot int
	// tokens are the ids of the tokens whose text this event releases, and probs their probabilities when
	// the request asked for them.
	tokens []llama.Token
	probs  []tokenProb
	// predicted is how many tokens the choice has generated so far.
	predicted int
	// timings are the totals so far, when the request asked for them with every chunk.
	timings *result
	// progress reports how far the prompt's evaluation has gone (return_progress); it comes without text.
	progress *promptProgress
	// echo marks the event that stands for the echoed prompt of its choice (with the prompt tokens'
	// probabilities when asked for); it comes before the choice's text.
	echo  bool
	final *result
}

// promptProgress is llama-server's prompt_progress: of total prompt tokens, cache were reused and processed
// are in the cache so far, after timeMS milliseconds.
type promptProgress struct {
	total, cache, processed int
	timeMS                  int64
}

func (p *promptProgress) json() map[string]any {
	return map[string]any{"total": p.total, "cache": p.cache, "processed": p.processed, "time_ms": p.timeMS}
}

// Finish reasons and llama-server's stop types.
const (
	finishStop   = "stop"
	finishLength = "length"

	stopTypeEOS   = "eos"
	stopTypeWord  = "word"
	stopTypeLimit = "limit"
)

// choiceEnd is how one choice of a task ended.
type choiceEnd struct {
	finishReason string
	stopType     string
	stoppingWord string
	// truncated is a choice the slot's context ended.
	truncated bool
	predicted int
	slot      int
	// nPast is how many tokens the choice's slot held at the end.
	nPast int
	// predictTime is how long the choice generated, from the end of the prompt to its last token.
	predictTime time.Duration
}

// result is how a task ended: the end of each choice, in index order, and the totals.
type result struct {
	err     *apiError
	choices []choiceEnd
	// slot is the slot that evaluated the prompt.
	slot   int
	taskID uint64
	// promptTokens is the prompt's length; cachedTokens of them were reused from the slot's previous
	// request and promptEvaluated were computed, once for all choices.
	promptTokens    int
	cachedTokens    int
	promptEvaluated int
	// predicted counts the tokens of all choices.
	predicted   int
	promptTime  time.Duration
	predictTime time.Duration
	embedding   []float32
	// tokenEmbeddings are the prompt's vectors, one per token, under --pooling none (embedding is nil then).
	tokenEmbeddings [][]float32
}

// ofChoice is the result as choice i's own: its generated tokens and its generation time, with the
// prompt's figures, which all choices share. llama-server reports each choice's timings so.
func (r *result) ofChoice(i int) *result {
	own := *r
	own.choices = r.choices[i : i+1]
	own.predicted, own.predictTime = r.choices[i].predicted, r.choices[i].predictTime
	return &own
}

// first is the end of choice 0, or the zero value for a result without choices (an error).
func (r *result) first() choiceEnd {
	if len(r.choices) == 0 {
		return choiceEnd{}
	}
	return r.choices[0]
}

// newTask makes a task whose event buffer fits all it can produce: per choice, one event per sampled token
// at most (no more than the slot's free cells) and the held-back text released at the end; then the final
// event.
func newTask(ctx context.Context, prompt []llama.Token, params genParams, embed bool, slotCtx int) *task {
	most := slotCtx - len(prompt)
	if params.nPredict >= 0 {
		most = min(most, params.nPredict)
	}
	size := params.choices()*(max(most, 0)+2) + 1
	if params.echo {
		size += params.choices() // each choice's echoed prompt
	}
	if params.returnProgress {
		// One report before the prompt, and one per decode that evaluates part of it.
		size += len(prompt) + 1
	}
	t := &task{ctx: ctx, prompt: prompt, params: params, embed: embed, events: make(chan event, size)}
	if !embed {
		// An embedding samples nothing: its slot shows no sampling settings.
		t.settings = slotSettings(params)
	}
	return t
}

// taskRun is a task placed on its slots: one slot per choice, the first of which evaluates the prompt and
// hands its cache to the others. Only the scheduler goroutine touches it.
type taskRun struct {
	task  *task
	id    uint64
	slots []*slot
	ends  []choiceEnd
	// open counts the choices still generating.
	open            int
	reused          int
	promptEvaluated int
	predicted       int
	started         time.Time
	promptDone      time.Time
	embedding       []float32
	tokenEmbeddings [][]float32
	// promptProbs are the probabilities of the prompt's tokens after the first, for echo with logprobs.
	promptProbs []tokenProb
}
