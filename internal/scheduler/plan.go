package scheduler

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// entry is the scheduler's view of one model, kept by its owner goroutine.
type entry struct {
	id     string
	pinned bool
	ttl    time.Duration
	// memory is what the model occupies, or would once loaded, of the
	// machine's memory and of GPU memory.
	memory amount
	// loaded: the backend is to be loaded (Load asked, or load: startup).
	loaded bool
	// resident: a process exists or is going away (loading, ready, backoff,
	// unloading...): its memory is not free yet.
	resident bool
	// loading: a load is in progress (the process has not been ready yet).
	loading bool
	leases  int64 // requests admitted and not finished
	waiting int   // requests waiting to be admitted
	// waitingSince is when the oldest waiting request began to wait, or an
	// operator asked for the load.
	waitingSince time.Time
	// asked: an operator asked for a load; it is placed as a waiting
	// request would be.
	asked bool
	// draining: admits no one; unloaded once its leases end, for drainReason.
	draining    bool
	drainReason string
	lastUsed    time.Time // when its last request finished, or it was loaded
}

// amount is memory of both kinds a budget counts: the machine's (RAM) and
// GPUs'.
type amount struct{ ram, gpu int64 }

func (a amount) plus(b amount) amount  { return amount{a.ram + b.ram, a.gpu + b.gpu} }
func (a amount) minus(b amount) amount { return amount{a.ram - b.ram, a.gpu - b.gpu} }

// within reports whether a fits in b on both kinds.
func (a amount) within(b amount) bool { return a.ram <= b.ram && a.gpu <= b.gpu }

// occupies reports whether the model's memory counts against the budget.
func (e *entry) occupies() bool { return e.loaded || e.resident }

// idle reports whether nothing uses the model now.
func (e *entry) idle() bool { return e.leases == 0 && e.waiting == 0 }

// admitting reports whether a request for the model is admitted at once.
func (e *entry) admitting() bool { return e.loaded && !e.draining }

// actionKind is what the owner does to one model.
type actionKind int

const (
	actLoad    actionKind = iota // start its backend
	actUnload                    // stop its backend now (it is idle)
	actDrain                     // admit no one more; unload when its leases end
	actAdmit                     // let its waiting requests in
	actUndrain                   // a drain no longer called for: admit again
)

func (k actionKind) String() string {
	return [...]string{"load", "unload", "drain", "admit", "undrain"}[k]
}

// action is one decision of plan.
type action struct {
	kind   actionKind
	id     string
	reason string
}

func (a action) String() string { return fmt.Sprintf("%s %s (%s)", a.kind, a.id, a.reason) }

// Reasons a model is unloaded.
const (
	ReasonEvictedFor = "evicted for "
	ReasonIdle       = "idle for "
)

// plan decides what to do now, from the models' views, the memory budget
// and the time. It is pure: the owner applies its actions, and tests table
// its decisions without processes or sleeps.
//
// The rules:
//   - A model is never unloaded while it has a request admitted or waiting,
//     while a load of it is in progress, or while it is pinned (an operator's
//     unload aside, which drains it first).
//   - Requests for a loaded model that is not draining are admitted.
//   - The model whose requests have waited longest is served first. If it
//     fits in what the budget has free, it loads. Otherwise idle models are
//     unloaded for it, least recently used first; if that is not enough,
//     busy ones are drained, least recently used first: they serve the
//     requests they have already admitted, then unload. A model loaded for
//     waiting requests thus serves them before it can be evicted for
//     another, and two models that alternate swap once per batch of
//     requests, not once per request.
//   - Only that model evicts; the others wait their turn, so the budget is
//     not emptied for several at once. A model that cannot fit even if
//     every model that may go went is passed over: it would hold the
//     others up for nothing.
//   - A draining model unloads once its leases end — unless what drained
//     it no longer holds: the model it was evicted for stopped waiting, or
//     an idle model got requests; then it serves on.
//   - An idle model past its ttl is unloaded.
//
// Each model gets one action at most.
func plan(models []*entry, budget amount, now time.Time) []action {
	var acts []action
	acted := map[string]bool{}
	add := func(a action) {
		if !acted[a.id] {
			acted[a.id] = true
			acts = append(acts, a)
		}
	}
	byID := map[string]*entry{}
	for _, e := range models {
		byID[e.id] = e
	}
	for _, e := range models {
		switch {
		case e.waiting > 0 && e.admitting():
			add(action{kind: actAdmit, id: e.id})
		case e.draining && e.loaded && !drainHolds(e, byID):
			add(action{kind: actUndrain, id: e.id})
		case e.draining && e.loaded && e.leases == 0:
			add(action{kind: actUnload, id: e.id, reason: e.drainReason})
		}
	}
	if head := headWaiting(models, budget); head != nil {
		for _, a := range makeRoom(models, head, budget) {
			add(a)
		}
	}
	for _, e := range models {
		if e.loaded && !e.pinned && !e.loading && !e.draining && e.ttl > 0 && e.idle() && now.Sub(e.lastUsed) >= e.ttl {
			add(action{kind: actUnload, id: e.id, reason: ReasonIdle + e.ttl.String()})
		}
	}
	return acts
}

// drainHolds reports whether a draining model is still to be unloaded:
// always when an operator asked; for an eviction, while the model it was
// evicted for still waits to load; for idleness, while it stays idle.
func drainHolds(e *entry, byID map[string]*entry) bool {
	switch {
	case strings.HasPrefix(e.drainReason, ReasonEvictedFor):
		target := byID[strings.TrimPrefix(e.drainReason, ReasonEvictedFor)]
		return target != nil && !target.loaded && (target.waiting > 0 || target.asked)
	case strings.HasPrefix(e.drainReason, ReasonIdle):
		return e.idle()
	}
	return true
}

// headWaiting is the model not loaded whose requests (or operator) have
// waited longest among those that can fit once every model that may go
// went, or nil.
func headWaiting(models []*entry, budget amount) *entry {
	var head *entry
	for _, e := range models {
		if (e.waiting == 0 && !e.asked) || e.loaded || !canEverFit(models, e, budget) {
			continue
		}
		if head == nil || e.waitingSince.Before(head.waitingSince) {
			head = e
		}
	}
	return head
}

// makeRoom loads head if it fits, or unloads and drains others until it
// will.
func makeRoom(models []*entry, head *entry, budget amount) []action {
	if head.resident {
		return nil // its own unload is under way: load it again once it is done
	}
	free := budget
	for _, e := range models {
		if e.occupies() {
			free = free.minus(e.memory)
		}
	}
	if head.memory.within(free) {
		return []action{{kind: actLoad, id: head.id}}
	}
	// Memory that is on its way out already counts as freed: wait for it
	// rather than take more.
	for _, e := range models {
		if (e.resident && !e.loaded) || (e.draining && e.loaded) {
			free = free.plus(e.memory)
		}
	}
	if head.memory.within(free) {
		return nil
	}
	var acts []action
	reason := ReasonEvictedFor + head.id
	for _, busy := range []bool{false, true} {
		for _, e := range victims(models, head, busy) {
			if head.memory.within(free) {
				return acts
			}
			if !helps(e.memory, head.memory, free) {
				continue // it frees only memory of a kind that is not short
			}
			free = free.plus(e.memory)
			if busy {
				acts = append(acts, action{kind: actDrain, id: e.id, reason: reason})
			} else {
				acts = append(acts, action{kind: actUnload, id: e.id, reason: reason})
			}
		}
	}
	if !head.memory.within(free) {
		return nil // not enough can be freed: head waits, and evicts nothing for nothing
	}
	return acts
}

// helps reports whether freeing victim gives need some of the kind of
// memory it lacks in free.
func helps(victim, need, free amount) bool {
	return (need.ram > free.ram && victim.ram > 0) || (need.gpu > free.gpu && victim.gpu > 0)
}

// victims are the models that may be evicted for head, least recently used
// first: loaded, not pinned, not loading, not draining already, and idle
// (busy false) or busy (busy true).
func victims(models []*entry, head *entry, busy bool) []*entry {
	var out []*entry
	for _, e := range models {
		if e == head || !e.loaded || e.pinned || e.loading || e.draining || e.idle() == busy {
			continue
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b *entry) int { return a.lastUsed.Compare(b.lastUsed) })
	return out
}

// canEverFit reports whether head fits once every model that may be
// evicted or drained is gone: only pinned models and loads in progress
// stay.
func canEverFit(models []*entry, head *entry, budget amount) bool {
	free := budget
	for _, e := range models {
		if e != head && e.occupies() && (e.pinned || e.loading) {
			free = free.minus(e.memory)
		}
	}
	return head.memory.within(free)
}
