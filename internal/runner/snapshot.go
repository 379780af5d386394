package runner

import "encoding/json"

// snapshot is the scheduler's state as published after every step, for /slots, /metrics and /props. It is
// immutable once published: readers on other goroutines only ever see a whole one.
type snapshot struct {
	slots []slotSnapshot
	stats stats
}

// slotSnapshot is one slot's state in GET /slots; an idle slot shows its last task.
type slotSnapshot struct {
	ID           int    `json:"id"`
	NCtx         int    `json:"n_ctx"`
	IsProcessing bool   `json:"is_processing"`
	IDTask       uint64 `json:"id_task"`
	NPrompt      int    `json:"n_prompt_tokens"`
	NCached      int    `json:"n_cached_tokens"`
	NDecoded     int    `json:"n_decoded"`
	// Speculative is always false: the runner has no speculative decoding.
	Speculative bool `json:"speculative"`
	// Params are the settings of the slot's current or last task, as llama-server shows them.
	Params json.RawMessage `json:"params,omitempty"`
}

// stats are the scheduler's running totals, the figures behind GET /metrics.
type stats struct {
	promptTokens     uint64
	promptSeconds    float64
	predictedTokens  uint64
	predictedSeconds float64
	decodes          uint64
	// busySlotsInDecodes sums the sequences of every decode, for the average per decode.
	busySlotsInDecodes uint64
	// maxSequencesPerDecode is the most sequences one decode carried: above 1 means requests shared a batch.
	maxSequencesPerDecode int
	requestsProcessing    int
	requestsDeferred      int
	kvTokens              int
}
