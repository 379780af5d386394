package runner

import (
	"testing"
)

// TestCancelledChoicesFreeEverySlot: a client that leaves a stream of several choices frees all their
// slots at once, none of which runs on to the end of its context.
func TestCancelledChoicesFreeEverySlot(t *testing.T) {
	f := runnerFor(t, false)
	_, cancel := f.openStream(t, `{"prompt":"go on forever","stream":true,"ignore_eos":true,"n_predict":-1,"n_cmpl":3}`)
	busy := 0
	for _, s := range f.slots(t) {
		if s.IsProcessing {
			busy++
		}
	}
	if busy != 3 {
		t.Fatalf("%d slots processing three choices", busy)
	}
	cancel()
	f.waitIdle(t)
	for _, s := range f.slots(t) {
		if s.NDecoded >= s.NCtx-s.NPrompt {
			t.Fatalf("slot %d decoded %d tokens, to the end of its context: cancellation did not free it", s.ID, s.NDecoded)
		}
	}
}
