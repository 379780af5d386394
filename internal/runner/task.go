package runner

import (
	"context"
	"time"

	"custos/internal/llama"
)

// task is one request handed to the scheduler: a prompt to continue (or to embed) and where to send the
// output. The handler keeps ctx: when the client goes away, the scheduler sees ctx done and frees the slot.
type task struct {
	ctx    context.Context
	prompt []llama.Token
	params genParams
	// embed asks for the prompt's pooled embedding instead of generated text.
	embed bool
	// events receives the text as it is generated, then exactly one event with a final result. Its buffer
	// holds every event the task can produce, so the scheduler never blocks on a slow client.
	events chan event
}

// event is one piece of a task's output: text, or, last, the result.
type event struct {
	text string
	// slot is the slot generating the text, which llama-server's native stream reports in every chunk.
	slot  int
	final *result
}

// Finish reasons and llama-server's stop types.
const (
	finishStop   = "stop"
	finishLength = "length"

	stopTypeEOS   = "eos"
	stopTypeWord  = "word"
	stopTypeLimit = "limit"
)

// result is how a task ended.
type result struct {
	err          *apiError
	finishReason string
	stopType     string
	stoppingWord string
	slot         int
	taskID       uint64
	// promptTokens is the prompt's length; cachedTokens of them were reused from the slot's previous
	// request and promptEvaluated were computed.
	promptTokens    int
	cachedTokens    int
	promptEvaluated int
	predicted       int
	// nPast is how many tokens the slot's cache held at the end.
	nPast       int
	promptTime  time.Duration
	predictTime time.Duration
	embedding   []float32
}

// newTask makes a task whose event buffer fits all it can produce: one event per sampled token at most (the
// last sample may land when the slot's context is already full, hence one more than the free cells), the
// held-back text released at the end, and the final event.
func newTask(ctx context.Context, prompt []llama.Token, params genParams, embed bool, slotCtx int) *task {
	most := slotCtx - len(prompt)
	if params.nPredict >= 0 {
		most = min(most, params.nPredict)
	}
	return &task{ctx: ctx, prompt: prompt, params: params, embed: embed,
		events: make(chan event, max(most, 0)+3)}
}
