package runner

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"custos/internal/llama"
)

// slot is one sequence of the llama.cpp context: the request choice it serves, if any, and the tokens its
// KV cache holds, which the next request may reuse as a common prefix. Only the scheduler goroutine
// touches it.
type slot struct {
	id     int32
	task   *task
	run    *taskRun
	taskID uint64
	// cached are the tokens in this sequence's KV cache, in position order, and cacheLoRA the LoRA scales
	// they were computed with (nil without adapters).
	cached    []llama.Token
	cacheLoRA []float32
	// nPrompt is the prompt length of the current or last task, and settings its settings for /slots.
	nPrompt  int
	settings json.RawMessage
	// lastUsed orders idle slots by when they were released, for least-recently-used choice.
	lastUsed uint64
	// actionsWaiting counts the slot actions that came while the slot was busy: they run before any new
	// task takes it, as llama-server puts its deferred tasks first.
	actionsWaiting int

	// Per-request state, reset by start.
	choice int
	// follower marks a choice other than the first, waiting for the first to evaluate the prompt.
	follower   bool
	generating bool
	next       llama.Token // sampled, to be decoded at the next step
	outIndex   int32       // index in the current batch whose logits this slot samples; -1 if none
	inBatch    bool        // the slot has tokens in the current batch
	inPrompt   bool        // those tokens are part of its prompt
	// promptOut is the batch index of the first of them and promptFrom its position, for scoring the
	// prompt (echo with logprobs).
	promptOut  int32
	promptFrom int
	sampler    *llama.Sampler
	budget     *reasoningBudget
	joiner     utf8Joiner
	stop       stopMatcher
	indent     indentGate
	predicted  int
	// pendingTokens and pendingProbs are the sampled tokens whose text has not been released yet.
	pendingTokens []llama.Token
	pendingProbs  []tokenProb
	// held is the released output of a choice answered whole, sent in one event when the choice ends.
	held heldOutput
}

// heldOutput is the text, tokens and probabilities a choice has released so far.
type heldOutput struct {
	text   strings.Builder
	tokens []llama.Token
	probs  []tokenProb
}

func (s *slot) busy() bool { return s.task != nil }

// takesTasks tells whether a new task may start on the slot: it is idle and owes no slot action.
func (s *slot) takesTasks() bool { return s.task == nil && s.actionsWaiting == 0 }

// commonPrefix is the number of leading tokens a and b share.
func commonPrefix(a, b []llama.Token) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// slotSimilarity is llama-server's default --slot-prompt-similarity: a cache that holds more than this
// share of a prompt's first tokens is worth taking up again.
const slotSimilarity = 0.1

// chooseSlot picks the idle slot for a prompt run with the LoRA scales lora, as llama-server picks it: the
// one whose cache shares the largest share of the prompt's first tokens, past slotSimilarity (a cache of
// other scales shares none), else the one idle the longest. A prompt that shares only its template's
// first tokens with a cache so leaves it to the conversation it belongs to, and takes a slot that lost
// the least. It returns nil when no slot takes tasks.
func chooseSlot(slots []*slot, prompt []llama.Token, lora []float32) *slot {
	var similar, idlest *slot
	best := slotSimilarity
	for _, s := range slots {
		if !s.takesTasks() {
			continue
		}
		if idlest == nil || s.lastUsed < idlest.lastUsed {
			idlest = s
		}
		if len(prompt) == 0 || len(s.cached) == 0 || !slices.Equal(s.cacheLoRA, lora) {
			continue
		}
		if share := float64(commonPrefix(s.cached, prompt)) / float64(len(prompt)); share > best {
			similar, best = s, share
		}
	}
	if similar != nil {
		return similar
	}
	return idlest
}

// chooseFollowers picks n idle slots other than leader for a task's further choices, the ones idle the
// longest first, or nil when fewer are idle.
func chooseFollowers(slots []*slot, leader *slot, n int) []*slot {
	var idle []*slot
	for _, s := range slots {
		if s != leader && s.takesTasks() {
			idle = append(idle, s)
		}
	}
	if len(idle) < n {
		return nil
	}
	slices.SortStableFunc(idle, func(a, b *slot) int { return cmp.Compare(a.lastUsed, b.lastUsed) })
	return idle[:n]
}

// reusablePrefix is how many cached tokens a new prompt keeps: the common prefix, less one when it covers
// the whole prompt, because the last prompt token must be decoded again to get the logits of what follows.
// Embeddings reuse nothing: pooling needs the whole sequence in one decode.
func reusablePrefix(cached, prompt []llama.Token, embed bool) int {
	if embed {
		return 0
	}
	n := commonPrefix(cached, prompt)
	if n == len(prompt) {
		n--
	}
	return max(n, 0)
}
