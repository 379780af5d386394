// Package scheduler decides which models are loaded on a machine whose
// memory cannot hold them all: it loads a model when a request names it,
// unloads idle ones (least recently used first) to make room, unloads a
// model idle past its ttl, and never unloads a model while a request is
// admitted to it, waiting for it, or while it loads. One goroutine owns
// every decision (Run); requests reach it only when their model is not
// admitting them at once — the common case, a loaded model, is two atomic
// operations (Acquire) and none on release.
//
// The decisions themselves are pure (plan), applied through the backends'
// Load and Unload; the backends' processes stay the supervisor's.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"custos/internal/memory"
	"custos/internal/supervisor"
)

// Backend is a supervised backend as the scheduler drives it
// (*supervisor.Backend implements it).
type Backend interface {
	Watch() (supervisor.Snapshot, <-chan struct{})
	Load()
	Unload(reason string)
}

// Model is one model the scheduler places.
type Model struct {
	ID string
	// Startup: loaded from the start (load: startup); else on demand.
	Startup bool
	Pinned  bool
	TTL     time.Duration
	// Memory is what the model is expected to take once loaded, in bytes:
	// the configuration's override or the estimate from its GGUF file; 0
	// when unknown (it then always fits).
	Memory int64
	// GPUMemory is what it takes on GPUs when its backend offloads layers.
	GPUMemory int64
	Backend   Backend
}

// Scheduler places models in a memory budget.
type Scheduler struct {
	budget amount // bytes of each kind; 0: no limit of that kind
	log    *slog.Logger
	obs    Observer
	now    func() time.Time
	slots  map[string]*slot
	order  []*slot
	events chan event
	poke   chan struct{} // something changed: plan again
	done   chan struct{} // closed when Run returns
	// decisions counts the owner's rounds of decisions, so that a test can
	// know the scheduler has looked at what it did.
	decisions atomic.Int64
}

// ErrStopped is what a request gets once the scheduler no longer runs
// (custos is stopping).
var ErrStopped = errors.New("the model scheduler has stopped")

// slot is one model: the owner's view, and the atomics of the fast path.
type slot struct {
	model Model
	e     entry // owned by Run

	admitting atomic.Bool
	leases    atomic.Int64
	lastUsed  atomic.Int64  // unix nanoseconds of the last release
	gate      chan struct{} // owned by Run: closed to admit the waiting requests

	// Written by Run, read by Info.
	waitingNow atomic.Int64
	loadedNow  atomic.Bool
	measured   atomic.Int64 // resident memory of its process group, 0 until measured
	loadBegan  time.Time    // owned by Run
}

// Observer hears what the scheduler does, for metrics; nil hears nothing.
type Observer interface {
	// Loading: a load of model began, for requests that waited (or an
	// operator).
	Loading(model string)
	// Loaded: model became ready after a load that took d.
	Loaded(model string, d time.Duration)
	// Unloading: an unload of model began; kind is idle, evicted or asked.
	Unloading(model, kind string)
	// WaitedForLoad: a request waited for model to be loaded.
	WaitedForLoad(model string)
}

// MeasureObserver is an Observer that also hears each new measurement of
// a loaded model's resident memory, which changes what Info says (the
// operator's live view shows it).
type MeasureObserver interface {
	Measured(model string, resident int64)
}

// Info is what the scheduler knows of one model now.
type Info struct {
	Model string `json:"model"`
	// Loaded: to be loaded (loading, ready, or failing and restarting).
	Loaded bool `json:"loaded"`
	// Memory is what the scheduler counts for the model: the estimate (or
	// the configuration's override), or what was measured (the resident
	// memory of its backend's process group) when that is more. A fresh
	// backend measures less than it will use — the KV cache's pages
	// become resident as contexts fill — so a measurement raises the
	// figure and never lowers it below the estimate.
	Memory   int64 `json:"memory"`
	Measured bool  `json:"measured"` // Memory is the measurement
	Estimate int64 `json:"estimate"`
	// GPUMemory is what it takes on GPUs (its override or estimate).
	GPUMemory int64 `json:"gpu_memory,omitempty"`
	// Resident is the last measurement, 0 before one.
	Resident int64 `json:"resident"`
	// Requests admitted and not finished, and waiting to be admitted.
	Requests int64 `json:"requests"`
	Waiting  int64 `json:"waiting"`
	Pinned   bool  `json:"pinned,omitempty"`
	// TTL and, for a loaded idle model, when it unloads for idleness.
	TTL       time.Duration `json:"ttl,omitempty"`
	LastUsed  time.Time     `json:"last_used"`
	UnloadsAt time.Time     `json:"unloads_at,omitzero"`
}

// Budget is the memory budget in bytes (0: no limit).
func (s *Scheduler) Budget() int64 { return s.budget.ram }

// GPUBudget is the GPU memory budget in bytes (0: no limit).
func (s *Scheduler) GPUBudget() int64 { return s.budget.gpu }

// Info returns what the scheduler knows of model id; ok is false for an
// unknown id. It takes no lock.
func (s *Scheduler) Info(id string) (Info, bool) {
	sl := s.slots[id]
	if sl == nil {
		return Info{}, false
	}
	in := Info{
		Model: id, Loaded: sl.loadedNow.Load(), Memory: sl.model.Memory, Estimate: sl.model.Memory, GPUMemory: sl.model.GPUMemory,
		Requests: sl.leases.Load(), Waiting: sl.waitingNow.Load(), Pinned: sl.model.Pinned, TTL: sl.model.TTL,
		LastUsed: time.Unix(0, sl.lastUsed.Load()),
	}
	if m := sl.measured.Load(); m > 0 {
		in.Resident = m
		if m > in.Memory {
			in.Memory, in.Measured = m, true
		}
	}
	if in.Loaded && !in.Pinned && in.TTL > 0 && in.Requests == 0 && in.Waiting == 0 {
		in.UnloadsAt = in.LastUsed.Add(in.TTL)
	}
	return in, true
}

// Resident is the memory the loaded models count for, all together.
func (s *Scheduler) Resident() int64 {
	var n int64
	for _, sl := range s.order {
		if in, _ := s.Info(sl.model.ID); in.Loaded {
			n += in.Memory
		}
	}
	return n
}

// Budget is what the loaded models may take: of the machine's memory and
// of GPU memory, in bytes (0: no limit of that kind).
type Budget struct {
	Memory, GPUMemory int64
}

// New returns the scheduler of models within budget; obs may be nil.
func New(budget Budget, models []Model, obs Observer, log *slog.Logger) *Scheduler {
	s := &Scheduler{budget: amount{budget.Memory, budget.GPUMemory}, log: log, obs: obs, now: time.Now, slots: map[string]*slot{},
		events: make(chan event), poke: make(chan struct{}, 1), done: make(chan struct{})}
	now := s.now()
	for _, m := range models {
		sl := &slot{model: m, gate: make(chan struct{})}
		sl.e = entry{id: m.ID, pinned: m.Pinned, ttl: m.TTL, memory: amount{m.Memory, m.GPUMemory}, loaded: m.Startup, lastUsed: now}
		sl.admitting.Store(m.Startup)
		sl.loadedNow.Store(m.Startup)
		sl.lastUsed.Store(now.UnixNano())
		s.slots[m.ID] = sl
		s.order = append(s.order, sl)
	}
	return s
}

// event is a request to the owner goroutine.
type event struct {
	kind  eventKind
	slot  *slot
	gate  chan struct{}   // cancel: the gate the request waited at
	reply chan<- response // demand, load, unload
	actor string
}

type eventKind int

const (
	evDemand eventKind = iota // a request waits to be admitted
	evCancel                  // a waiting request gave up
	evLoad                    // an operator asks for a load
	evUnload                  // an operator asks for an unload
)

type response struct {
	gate chan struct{}
	err  error
}

// Lease is one request's claim on a loaded model; Release it when the
// request is done. It is a value, so that the common case allocates
// nothing; the zero Lease holds nothing.
type Lease struct {
	s    *Scheduler
	slot *slot
}

// Held reports whether the lease holds a claim.
func (l *Lease) Held() bool { return l.slot != nil }

// Release ends the claim; a second call does nothing. It never blocks.
// A Lease belongs to one request's goroutine.
func (l *Lease) Release() {
	sl := l.slot
	if sl == nil {
		return
	}
	l.slot = nil
	sl.lastUsed.Store(l.s.now().UnixNano())
	if sl.leases.Add(-1) == 0 {
		l.s.wake()
	}
}

// ErrUnknownModel is a model id the scheduler does not place.
var ErrUnknownModel = errors.New("unknown model")

// TryAcquire admits a request for model id if its model is loaded (or
// loading) and not draining, without waiting and without allocating.
func (s *Scheduler) TryAcquire(id string) (Lease, bool) {
	sl := s.slots[id]
	if sl == nil || !sl.admitting.Load() {
		return Lease{}, false
	}
	sl.leases.Add(1)
	// The owner stops admitting before it looks at the leases: if it
	// stopped meanwhile, it may have seen none and be unloading.
	if sl.admitting.Load() {
		return Lease{s: s, slot: sl}, true
	}
	if sl.leases.Add(-1) == 0 {
		s.wake()
	}
	return Lease{}, false
}

// Acquire admits a request for model id: at once when the model is loaded
// (or loading) and not draining; otherwise it waits until the scheduler
// loads it, or until ctx ends (ctx's error).
func (s *Scheduler) Acquire(ctx context.Context, id string) (Lease, error) {
	if l, ok := s.TryAcquire(id); ok {
		return l, nil
	}
	sl := s.slots[id]
	if sl == nil {
		return Lease{}, ErrUnknownModel
	}
	reply := make(chan response, 1)
	select {
	case s.events <- event{kind: evDemand, slot: sl, reply: reply}:
	case <-ctx.Done():
		return Lease{}, ctx.Err()
	case <-s.done:
		return Lease{}, ErrStopped
	}
	gate := (<-reply).gate // the owner answers a demand at once
	select {
	case <-gate:
		return Lease{s: s, slot: sl}, nil
	case <-ctx.Done():
		// The owner counts a lease for every request waiting when it opens
		// the gate; tell it this one left, whichever came first.
		select {
		case s.events <- event{kind: evCancel, slot: sl, gate: gate}:
		case <-s.done:
		}
		return Lease{}, ctx.Err()
	case <-s.done:
		return Lease{}, ErrStopped
	}
}

// Load asks for model id to be loaded now, as an operator may: it fails,
// with the figures, when the model does not fit and idle models cannot
// make room for it.
func (s *Scheduler) Load(ctx context.Context, id string) error {
	return s.ask(ctx, evLoad, id, "")
}

// Unload asks for model id to be unloaded by actor: it admits no more
// requests, unloads once the ones admitted are done, and is loaded again
// when a request names it.
func (s *Scheduler) Unload(ctx context.Context, id, actor string) error {
	return s.ask(ctx, evUnload, id, actor)
}

func (s *Scheduler) ask(ctx context.Context, kind eventKind, id, actor string) error {
	sl := s.slots[id]
	if sl == nil {
		return ErrUnknownModel
	}
	reply := make(chan response, 1)
	select {
	case s.events <- event{kind: kind, slot: sl, reply: reply, actor: actor}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrStopped
	}
	return (<-reply).err // the owner answers at once
}

// wake has the owner plan again.
func (s *Scheduler) wake() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Run makes every decision until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	defer close(s.done)
	for _, sl := range s.order {
		go s.follow(ctx, sl)
	}
	ttl := time.NewTimer(0) // decide once at the start
	defer ttl.Stop()
	measure := time.NewTicker(measureInterval)
	defer measure.Stop()
	for {
		select {
		case ev := <-s.events:
			s.handle(ev)
		case <-s.poke:
		case <-ttl.C:
		case <-measure.C:
			s.measure()
		case <-ctx.Done():
			return
		}
		s.decide()
		ttl.Reset(s.nextTTL())
		s.decisions.Add(1)
	}
}

// measureInterval is how often the resident memory of loaded backends is
// measured, replacing their estimates in every later decision.
const measureInterval = 2 * time.Second

// measure reads the resident memory of every ready backend's process
// group (the backend leads its own group).
func (s *Scheduler) measure() {
	ready := map[int]*slot{}
	for _, sl := range s.order {
		snap, _ := sl.model.Backend.Watch()
		if sl.e.loaded && snap.State == supervisor.StateReady && snap.PID != 0 {
			ready[snap.PID] = sl
		}
	}
	if len(ready) == 0 {
		return
	}
	totals, err := memory.GroupsRSS(slices.Collect(maps.Keys(ready)))
	if err != nil {
		return
	}
	mo, _ := s.obs.(MeasureObserver)
	for pgid, rss := range totals {
		if rss <= 0 {
			continue
		}
		sl := ready[pgid]
		if sl.measured.Swap(rss) != rss && mo != nil {
			mo.Measured(sl.model.ID, rss)
		}
	}
}

// follow wakes the owner at every state change of a backend.
func (s *Scheduler) follow(ctx context.Context, sl *slot) {
	for {
		_, changed := sl.model.Backend.Watch()
		select {
		case <-changed:
			s.wake()
		case <-ctx.Done():
			return
		}
	}
}

func (s *Scheduler) handle(ev event) {
	e := &ev.slot.e
	switch ev.kind {
	case evDemand:
		if e.waiting == 0 {
			e.waitingSince = s.now()
		}
		e.waiting++
		ev.slot.waitingNow.Store(int64(e.waiting))
		if s.obs != nil {
			s.obs.WaitedForLoad(e.id)
		}
		ev.reply <- response{gate: ev.slot.gate}
	case evCancel:
		if ev.gate == ev.slot.gate {
			e.waiting-- // still waiting: it leaves the line
			ev.slot.waitingNow.Store(int64(e.waiting))
		} else if ev.slot.leases.Add(-1) == 0 {
			s.wake() // admitted as it left: give the lease back
		}
	case evLoad:
		ev.reply <- response{err: s.operatorLoad(ev.slot)}
	case evUnload:
		if e.loaded {
			s.drain(ev.slot, "asked by "+ev.actor)
		}
		ev.reply <- response{}
	}
}

// operatorLoad asks for a model to be loaded as a waiting request would
// be placed, or says at once why it cannot ever fit beside the models that
// may not be unloaded.
func (s *Scheduler) operatorLoad(sl *slot) error {
	s.refresh()
	e := &sl.e
	if e.loaded {
		if e.draining {
			e.draining = false
			sl.admitting.Store(true)
		}
		return nil
	}
	if !canEverFit(s.entries(), e, s.limit()) {
		e.asked = false
		return s.noRoom(e)
	}
	if !e.asked && e.waiting == 0 {
		e.waitingSince = s.now()
	}
	e.asked = true
	return nil
}

// NoRoomError says a model cannot fit beside the models that may not be
// unloaded now.
type NoRoomError struct {
	Model  string
	Kind   string // "memory" or "GPU memory": the kind it lacks
	Need   int64  // the model's
	Budget int64
	Held   int64 // by pinned models and loads in progress
}

func (e *NoRoomError) Error() string {
	return fmt.Sprintf("model %s needs %s of %s, and of the %s budget %s is held by models that cannot be unloaded now (pinned, or loading)",
		e.Model, memory.FormatBytes(e.Need), e.Kind, memory.FormatBytes(e.Budget), memory.FormatBytes(e.Held))
}

func (s *Scheduler) noRoom(e *entry) error {
	var held amount
	for _, o := range s.entries() {
		if o != e && o.occupies() && (o.pinned || o.loading) {
			held = held.plus(o.memory)
		}
	}
	if lim := s.limit(); e.memory.ram > lim.ram-held.ram {
		return &NoRoomError{Model: e.id, Kind: "memory", Need: e.memory.ram, Budget: s.budget.ram, Held: held.ram}
	}
	return &NoRoomError{Model: e.id, Kind: "GPU memory", Need: e.memory.gpu, Budget: s.budget.gpu, Held: held.gpu}
}

// limit is the budget plan works with: no limit is the largest.
func (s *Scheduler) limit() amount {
	const unlimited = 1<<63 - 1
	l := s.budget
	if l.ram <= 0 {
		l.ram = unlimited
	}
	if l.gpu <= 0 {
		l.gpu = unlimited
	}
	return l
}

// refresh brings every entry up to date with its backend and atomics.
func (s *Scheduler) refresh() {
	for _, sl := range s.order {
		e := &sl.e
		snap, _ := sl.model.Backend.Watch()
		e.resident = snap.State != supervisor.StateUnloaded && snap.State != supervisor.StateStopped
		if !e.resident && !e.loaded {
			// Its process is gone: what it measured goes with it, and not
			// before (it counts while the process leaves).
			sl.measured.Store(0)
		}
		e.memory = amount{max(sl.model.Memory, sl.measured.Load()), sl.model.GPUMemory}
		wasLoading := e.loading
		// Loading from the Load until ready; a backend that has not seen
		// the Load yet still says unloaded. A failed load (backoff,
		// unhealthy) is not a load in progress.
		e.loading = e.loaded && (snap.State == supervisor.StateLoading || snap.State == supervisor.StateUnloaded)
		if wasLoading && snap.State == supervisor.StateReady {
			sl.lastUsed.Store(s.now().UnixNano()) // a fresh load is not the least recently used
			if s.obs != nil && !sl.loadBegan.IsZero() {
				s.obs.Loaded(e.id, s.now().Sub(sl.loadBegan))
			}
			sl.loadBegan = time.Time{}
		}
		e.leases = sl.leases.Load()
		e.lastUsed = time.Unix(0, sl.lastUsed.Load())
	}
}

func (s *Scheduler) entries() []*entry {
	out := make([]*entry, len(s.order))
	for i, sl := range s.order {
		out[i] = &sl.e
	}
	return out
}

// decide plans and applies until nothing more is to be done now.
func (s *Scheduler) decide() {
	for range 4 { // an admit or a load can enable the next step; never loop for ever
		s.refresh()
		acts := plan(s.entries(), s.limit(), s.now())
		if len(acts) == 0 {
			return
		}
		s.apply(acts)
	}
}

func (s *Scheduler) apply(acts []action) {
	for _, a := range acts {
		sl := s.slots[a.id]
		e := &sl.e
		switch a.kind {
		case actAdmit:
			sl.leases.Add(int64(e.waiting))
			e.waiting = 0
			sl.waitingNow.Store(0)
			close(sl.gate)
			sl.gate = make(chan struct{})
		case actLoad:
			e.loaded, e.loading, e.draining, e.asked = true, true, false, false
			sl.admitting.Store(true)
			sl.loadedNow.Store(true)
			sl.loadBegan = s.now()
			s.log.Info("loading model", "model", e.id, "memory", memory.FormatBytes(e.memory.ram), "gpu_memory", memory.FormatBytes(e.memory.gpu), "waiting", e.waiting)
			if s.obs != nil {
				s.obs.Loading(e.id)
			}
			sl.model.Backend.Load()
		case actDrain, actUnload:
			s.drain(sl, a.reason)
		case actUndrain:
			e.draining = false
			sl.admitting.Store(true)
			s.log.Info("model serves on: what drained it no longer holds", "model", e.id, "reason", e.drainReason)
		}
	}
}

// drain stops admitting requests to a model and unloads it once the
// requests admitted are done (at once when there are none).
func (s *Scheduler) drain(sl *slot, reason string) {
	e := &sl.e
	if !e.loaded {
		return // unloaded already
	}
	sl.admitting.Store(false)
	e.draining, e.drainReason = true, reason
	if sl.leases.Load() != 0 {
		s.log.Info("draining model before it unloads", "model", e.id, "reason", reason, "in_flight", sl.leases.Load())
		return
	}
	e.loaded, e.draining = false, false
	sl.loadedNow.Store(false)
	s.log.Info("unloading model", "model", e.id, "reason", reason, "in_flight", sl.leases.Load())
	if s.obs != nil {
		s.obs.Unloading(e.id, ReasonKind(reason))
	}
	sl.model.Backend.Unload(reason)
}

// ReasonKind is the kind of an unload's reason, for a metric's label:
// idle, evicted or asked.
func ReasonKind(reason string) string {
	switch {
	case strings.HasPrefix(reason, ReasonIdle):
		return "idle"
	case strings.HasPrefix(reason, ReasonEvictedFor):
		return "evicted"
	}
	return "asked"
}

// nextTTL is how long until the soonest ttl of an idle model ends.
func (s *Scheduler) nextTTL() time.Duration {
	next := time.Hour
	now := s.now()
	for _, sl := range s.order {
		e := &sl.e
		if e.loaded && !e.pinned && e.ttl > 0 && e.idle() {
			next = min(next, max(e.lastUsed.Add(e.ttl).Sub(now), time.Millisecond))
		}
	}
	return next
}
