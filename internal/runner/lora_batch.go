package runner

import (
	"slices"
	"sync/atomic"

	"custos/internal/llama"
)

// schedulerLoRA is the scheduler's side of the LoRA adapters. llama.cpp applies adapters to a whole
// context, so each decode carries only sequences that run with the same scales, and a slot's cache is
// reused only by a request with the scales it was computed with.
type schedulerLoRA struct {
	adapters []*llama.LoRA
	// global holds the scales of requests without a lora list of their own (POST /lora-adapters sets
	// them); the slice it points to is never changed, only replaced.
	global atomic.Pointer[[]float32]
	// applied are the scales the context decodes with now; nil before the first decode.
	applied []float32
	// turn is the slot from which the next step looks for the scales it decodes with, so that requests
	// of different scales take turns.
	turn int
}

// useLoRA gives the scheduler the loaded adapters and the global scales they start at.
func (s *scheduler) useLoRA(loras []loraAdapter, scales []float32) {
	for _, l := range loras {
		s.lora.adapters = append(s.lora.adapters, l.adapter)
	}
	s.setGlobalLoRA(scales)
}

// globalLoRA is the current global scales, one per adapter; callers must not change it.
func (s *scheduler) globalLoRA() []float32 {
	if p := s.lora.global.Load(); p != nil {
		return *p
	}
	return nil
}

// setGlobalLoRA replaces the global scales; tasks placed from then on run with them.
func (s *scheduler) setGlobalLoRA(scales []float32) {
	s.lora.global.Store(&scales)
}

// loraFor is the scales t runs with: its own lora list (unlisted adapters at 0), else the global scales at
// the time it is placed, as llama-server reads them when a slot starts a task. nil when no adapter is
// loaded.
func (s *scheduler) loraFor(t *task) []float32 {
	if len(s.lora.adapters) == 0 {
		return nil
	}
	if len(t.params.lora) > 0 {
		return scalesOf(t.params.lora, len(s.lora.adapters))
	}
	return s.globalLoRA()
}

// stepLoRA picks the scales this step decodes with: those of the first slot, from the turn on, that has
// something to decode. The next step looks from the slot after it.
func (s *scheduler) stepLoRA() []float32 {
	if len(s.lora.adapters) == 0 {
		return nil
	}
	n := len(s.slots)
	for k := range n {
		i := (s.lora.turn + k) % n
		sl := s.slots[i]
		if sl.busy() && !sl.follower {
			s.lora.turn = i + 1
			return sl.task.loraScales
		}
	}
	return nil
}

// applyLoRA makes the context decode with scales from the next decode on.
func (s *scheduler) applyLoRA(scales []float32) {
	if len(s.lora.adapters) == 0 || (s.lora.applied != nil && slices.Equal(s.lora.applied, scales)) {
		return
	}
	s.lctx.SetLoRA(s.lora.adapters, scales)
	s.lora.applied = slices.Clone(scales)
}
