package runner

import (
	"context"
	"net/http"
	"sync"
	"testing"
)

// Parallel requests must share decodes. A long stream runs while other requests come and go; each token
// a request samples needs a decode, so with one sequence per decode the decode count would reach the
// sampled token count, and continuous batching keeps it below.
func TestParallelRequestsShareOneDecode(t *testing.T) {
	f := runnerFor(t, false)
	decodesBefore := f.metric(t, "llamacpp:n_decode_total")
	predictedBefore := f.metric(t, "llamacpp:tokens_predicted_total")

	long, stopLong := f.openStream(t, `{"prompt":"a long story","stream":true,"ignore_eos":true,"n_predict":-1}`)
	const perRequest = 64
	var wg sync.WaitGroup
	replies := make([]nativeReply, testParallel-1)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.postOK(t, "/completion", map[string]any{"prompt": "parallel", "n_predict": perRequest,
				"ignore_eos": true, "seed": i}, &replies[i])
		}()
	}
	wg.Wait()
	if busy := f.slots(t)[long]; !busy.IsProcessing {
		t.Fatal("the long stream ended before the other requests did: nothing to compare")
	}
	stopLong()
	f.waitIdle(t)
	for i, r := range replies {
		if r.TokensPredicted != perRequest {
			t.Fatalf("request %d predicted %d tokens, want %d", i, r.TokensPredicted, perRequest)
		}
	}
	decodes := f.metric(t, "llamacpp:n_decode_total") - decodesBefore
	predicted := f.metric(t, "llamacpp:tokens_predicted_total") - predictedBefore
	if decodes >= predicted {
		t.Fatalf("%v decodes for %v sampled tokens: the requests did not share a batch", decodes, predicted)
	}
	if f.metric(t, "custos:decode_sequences_max") < 2 {
		t.Fatal("no decode carried more than one sequence")
	}
}

func TestRequestsBeyondTheSlotsWaitForOne(t *testing.T) {
	f := runnerFor(t, false)
	const requests = testParallel + 3
	var wg sync.WaitGroup
	statuses := make([]int, requests)
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = f.post(t, "/completion", map[string]any{"prompt": "queue", "n_predict": 32, "ignore_eos": true})
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("request %d: status %d, want every request served in turn", i, s)
		}
	}
}

// A task arriving when every slot is busy and the queue is full is refused with a 503, not queued without
// bound. This drives the scheduler's admission directly: no model is involved.
func TestFullQueueAnswers503(t *testing.T) {
	s := &scheduler{slots: []*slot{{task: &task{}}}, queueLimit: 1}
	ctx := context.Background()
	s.admit(&task{ctx: ctx, events: make(chan event, 1)})
	if len(s.pending) != 1 {
		t.Fatalf("first extra task: %d pending, want it queued", len(s.pending))
	}
	refused := &task{ctx: ctx, events: make(chan event, 1)}
	s.admit(refused)
	if len(s.pending) != 1 {
		t.Fatalf("%d pending, want the queue bounded at 1", len(s.pending))
	}
	var ev event
	select {
	case ev = <-refused.events: // admit answers at once, on the task's buffered channel
	default:
		t.Fatal("the refused task got no answer from admit")
	}
	if ev.final == nil || ev.final.err == nil || ev.final.err.Status != http.StatusServiceUnavailable {
		t.Fatalf("refused task got %+v, want a 503", ev)
	}
}

func TestCancelledQueuedTaskLeavesTheQueue(t *testing.T) {
	s := &scheduler{slots: []*slot{{task: &task{ctx: context.Background()}}}, queueLimit: 4}
	ctx, cancel := context.WithCancel(context.Background())
	s.admit(&task{ctx: ctx, events: make(chan event, 1)})
	cancel()
	s.releaseCancelled()
	if len(s.pending) != 0 {
		t.Fatalf("%d pending after the client left, want 0", len(s.pending))
	}
}

// When every slot finishes in the same step while tasks are queued, the scheduler must start them instead of
// waiting for a new arrival (that wait once left queued requests hanging for good).
func TestQueuedTasksAreWorkWhenEverySlotIsFree(t *testing.T) {
	s := &scheduler{slots: []*slot{{id: 0}, {id: 1}}, pending: []*task{{ctx: context.Background()}}}
	if s.idle() {
		t.Fatal("idle with a queued task and free slots")
	}
	s.pending = nil
	if !s.idle() {
		t.Fatal("not idle with nothing to do")
	}
}
