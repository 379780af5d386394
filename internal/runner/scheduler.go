package runner

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"custos/internal/llama"
)

// scheduler owns the llama.cpp context, the batch and every slot. Its goroutine (run) admits tasks, makes
// one decode per step over all active sequences and sends each task its text; everything else talks to it
// through submit and reads the snapshots it publishes.
type scheduler struct {
	model   *llama.Model
	lctx    *llama.Context
	batch   *llama.Batch
	slots   []*slot
	slotCtx int // tokens one slot's sequence may hold
	// queueLimit bounds pending: tasks waiting for a free slot.
	queueLimit int
	pending    []*task

	submit chan *task
	done   chan struct{} // closed when run returns
	// actions brings slot actions; waitingActions are those whose slot was busy when they came.
	actions        chan *slotAction
	waitingActions []*slotAction
	// controls brings POST /v1/chat/completions/control's requests, answered at once.
	controls  chan *reasoningControl
	published *atomic.Pointer[snapshot]

	stats stats
	// outbox holds the results of finished tasks until the next publish, so that a client holding its
	// result finds it counted in /metrics and /slots.
	outbox     []delivery
	clock      uint64
	nextTaskID uint64
	lora       schedulerLoRA
}

func newScheduler(model *llama.Model, lctx *llama.Context, parallel, batchSize, queueLimit int,
	published *atomic.Pointer[snapshot]) *scheduler {
	s := &scheduler{
		model:      model,
		lctx:       lctx,
		batch:      llama.NewBatch(batchSize, 1),
		slotCtx:    lctx.NCtxSeq(),
		queueLimit: queueLimit,
		submit:     make(chan *task),
		done:       make(chan struct{}),
		actions:    make(chan *slotAction),
		controls:   make(chan *reasoningControl),
		published:  published,
	}
	for i := range parallel {
		s.slots = append(s.slots, &slot{id: int32(i), outIndex: -1})
	}
	s.publish()
	return s
}

// enqueue hands t to the scheduler. It fails only when the scheduler has stopped; a full queue is answered
// through t's events like every other outcome.
func (s *scheduler) enqueue(t *task) *apiError {
	select {
	case s.submit <- t:
		return nil
	case <-s.done:
		return shuttingDown()
	}
}

func shuttingDown() *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Message: "the server is shutting down"}
}

// run is the scheduler's loop, until ctx is done. It then fails every task it holds and frees the batch.
func (s *scheduler) run(ctx context.Context) {
	defer close(s.done)
	defer s.batch.Close()
	defer s.failAll(shuttingDown())
	for {
		if s.idle() {
			select {
			case t := <-s.submit:
				s.admit(t)
			case a := <-s.actions:
				s.queueAction(a)
			case c := <-s.controls:
				c.done <- s.control(c)
			case <-ctx.Done():
				return
			}
		}
		s.admitWaiting()
		if ctx.Err() != nil {
			return
		}
		s.releaseCancelled()
		s.runActions()
		s.startPending()
		// Publishing before the step too lets a client that got its first token find its slot busy.
		s.publish()
		if s.anyBusy() {
			s.step()
		}
		s.publish()
	}
}

// admitWaiting takes every task and slot action already offered, without blocking.
func (s *scheduler) admitWaiting() {
	for {
		select {
		case t := <-s.submit:
			s.admit(t)
		case a := <-s.actions:
			s.queueAction(a)
		case c := <-s.controls:
			c.done <- s.control(c)
		default:
			return
		}
	}
}

// admit starts t on idle slots, or queues it, or refuses it when the queue is full.
func (s *scheduler) admit(t *task) {
	if t.ctx.Err() != nil {
		return
	}
	if len(s.pending) == 0 {
		if slots := s.place(t); slots != nil {
			s.start(t, slots)
			return
		}
	}
	if len(s.pending) >= s.queueLimit {
		t.events <- event{final: &result{err: &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable,
			Message: fmt.Sprintf("all %d slots are busy and %d requests are already waiting; retry later",
				len(s.slots), len(s.pending))}}}
		return
	}
	s.pending = append(s.pending, t)
}

// place picks the slots for t, one per choice, or returns nil when they are not all free: first the slot
// that evaluates the prompt (the one t pinned with id_slot, else the best cache for the prompt), then the
// slots of the further choices.
func (s *scheduler) place(t *task) []*slot {
	t.loraScales = s.loraFor(t)
	var leader *slot
	if t.params.pinSlot {
		if sl := s.slots[t.params.slotID]; sl.takesTasks() {
			leader = sl
		}
	} else {
		leader = chooseSlot(s.slots, t.prompt, t.loraScales)
	}
	if leader == nil {
		return nil
	}
	n := t.params.choices()
	if n == 1 {
		return []*slot{leader}
	}
	followers := chooseFollowers(s.slots, leader, n-1)
	if followers == nil {
		return nil
	}
	return append([]*slot{leader}, followers...)
}

// startPending moves waiting tasks, oldest first, onto the slots that are free.
func (s *scheduler) startPending() {
	for len(s.pending) > 0 {
		slots := s.place(s.pending[0])
		if slots == nil {
			return
		}
		t := s.pending[0]
		s.pending = s.pending[1:]
		s.start(t, slots)
	}
}

// releaseCancelled frees the slots and queue places of tasks whose client has gone.
func (s *scheduler) releaseCancelled() {
	for _, sl := range s.slots {
		if sl.busy() && sl.task.ctx.Err() != nil {
			s.release(sl)
		}
	}
	kept := s.pending[:0]
	for _, t := range s.pending {
		if t.ctx.Err() == nil {
			kept = append(kept, t)
		}
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

// start binds t to its slots. The first keeps the cached prefix the prompt shares (unless the request
// turned cache_prompt off, or the cache was computed with other LoRA scales) and drops the rest of its
// sequence; the others are emptied, to receive a copy of
// the first's cache once it has evaluated the prompt. Each choice samples with its own chain, choice i
// seeded with the request's seed + i as llama-server does, so that the choices differ yet repeat.
func (s *scheduler) start(t *task, slots []*slot) {
	s.nextTaskID++
	run := &taskRun{task: t, id: s.nextTaskID, slots: slots, ends: make([]choiceEnd, len(slots)),
		open: len(slots), started: time.Now()}
	for i, sl := range slots {
		keep := 0
		if i == 0 && !t.params.noCachePrompt && slices.Equal(sl.cacheLoRA, t.loraScales) {
			keep = reusablePrefix(sl.cached, t.prompt, t.embed)
		}
		keep = s.trimCache(sl, keep)
		sl.cacheLoRA = t.loraScales
		if i == 0 {
			run.reused = keep
		}
		*sl = slot{id: sl.id, cached: sl.cached, cacheLoRA: sl.cacheLoRA, lastUsed: sl.lastUsed, task: t, run: run, taskID: run.id,
			choice: i, follower: i > 0, outIndex: -1, nPrompt: len(t.prompt), settings: t.settings, stop: stopMatcher{stops: t.params.stops},
			indent: indentGate{min: t.params.nIndent}}
		if t.embed {
			continue
		}
		params := t.params.sampler
		if i > 0 && params.Seed != llama.SeedRandom {
			params.Seed += uint32(i)
		}
		sl.sampler = llama.NewSampler(s.model, params)
		sl.budget = newReasoningBudget(t.params.budget, s.model.TokenPiece)
		lastN := params.PenaltyLastN
		for _, tok := range t.prompt[max(0, len(t.prompt)-lastN):] {
			sl.sampler.Accept(tok)
		}
	}
	if t.params.returnProgress {
		s.reportProgress(slots[0])
	}
}

// trimCache drops sl's cached tokens past keep and returns how many it kept: all of them, or none when
// llama.cpp cannot remove part of the sequence.
func (s *scheduler) trimCache(sl *slot, keep int) int {
	if keep < len(sl.cached) {
		if !s.lctx.SeqRemove(sl.id, int32(keep), -1) {
			s.lctx.SeqRemove(sl.id, 0, -1)
			keep = 0
		}
		sl.cached = sl.cached[:keep]
	}
	return keep
}

// release frees sl for the next task; its cache stays for prefix reuse.
func (s *scheduler) release(sl *slot) {
	if sl.sampler != nil {
		sl.sampler.Close()
		sl.sampler = nil
	}
	sl.task, sl.run = nil, nil
	sl.pendingTokens, sl.pendingProbs, sl.held = nil, nil, heldOutput{}
	s.clock++
	sl.lastUsed = s.clock
}

// finish ends sl's choice with end and frees the slot; once every choice of the task has ended, it queues
// the task's result, which publish delivers.
func (s *scheduler) finish(sl *slot, end choiceEnd) {
	run := sl.run
	s.sendHeld(sl)
	end.predicted, end.slot, end.nPast = sl.predicted, int(sl.id), len(sl.cached)
	if !run.promptDone.IsZero() {
		end.predictTime = time.Since(run.promptDone)
	}
	run.ends[sl.choice] = end
	run.predicted += sl.predicted
	run.open--
	s.release(sl)
	if run.open > 0 {
		return
	}
	res := s.totals(run)
	res.choices = run.ends
	res.embedding, res.tokenEmbeddings = run.embedding, run.tokenEmbeddings
	if !run.promptDone.IsZero() {
		s.stats.predictedSeconds += res.predictTime.Seconds()
	}
	s.outbox = append(s.outbox, delivery{run.task, res})
}

// totals is the result of run as far as it went.
func (s *scheduler) totals(run *taskRun) *result {
	res := &result{slot: int(run.slots[0].id), taskID: run.id, promptTokens: len(run.task.prompt),
		cachedTokens: run.reused, promptEvaluated: run.promptEvaluated, predicted: run.predicted}
	if !run.promptDone.IsZero() {
		res.promptTime = run.promptDone.Sub(run.started)
		res.predictTime = time.Since(run.promptDone)
	}
	return res
}

// fail ends every choice of run at once with err and frees its slots.
func (s *scheduler) fail(run *taskRun, err *apiError) {
	for _, sl := range run.slots {
		if sl.run == run {
			s.release(sl)
		}
	}
	res := s.totals(run)
	res.err = err
	s.outbox = append(s.outbox, delivery{run.task, res})
}

// failAll ends every task the scheduler holds with err.
func (s *scheduler) failAll(err *apiError) {
	for _, sl := range s.slots {
		if sl.busy() {
			s.fail(sl.run, err)
		}
	}
	for _, t := range s.pending {
		t.events <- event{final: &result{err: err}}
	}
	s.pending = nil
	for _, a := range s.waitingActions {
		a.done <- slotActionResult{err: err}
	}
	s.waitingActions = nil
	s.publish()
}

// idle reports whether the scheduler has nothing to do until a task arrives. Tasks still queued are work
// even when no slot is busy: every slot may have finished in the same step, and waiting for a new arrival
// then would leave the queue stuck. So are slot actions that waited for their slot.
func (s *scheduler) idle() bool {
	return !s.anyBusy() && len(s.pending) == 0 && len(s.waitingActions) == 0
}

func (s *scheduler) anyBusy() bool {
	for _, sl := range s.slots {
		if sl.busy() {
			return true
		}
	}
	return false
}

// delivery is a finished task's result waiting for publish.
type delivery struct {
	task *task
	res  *result
}

// publish stores a fresh snapshot of the slots and totals for the HTTP handlers, then delivers the results
// of the tasks that snapshot counts as finished.
func (s *scheduler) publish() {
	snap := &snapshot{stats: s.stats, slots: make([]slotSnapshot, len(s.slots))}
	snap.stats.requestsDeferred = len(s.pending)
	for i, sl := range s.slots {
		snap.slots[i] = slotSnapshot{ID: int(sl.id), NCtx: s.slotCtx, IsProcessing: sl.busy(),
			IDTask: sl.taskID, NPrompt: sl.nPrompt, NCached: len(sl.cached), NDecoded: sl.predicted,
			Params: sl.settings}
		if sl.busy() {
			snap.stats.requestsProcessing++
		}
		snap.stats.kvTokens += len(sl.cached)
	}
	s.published.Store(snap)
	for _, d := range s.outbox {
		d.task.events <- event{final: d.res}
	}
	clear(s.outbox)
	s.outbox = s.outbox[:0]
}
