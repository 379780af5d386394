package intervention

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Config is the controller's policy (seed 004's defaults: enabled, observe
// only, 300 s maximum pause, 60 s wait).
type Config struct {
	Enabled           bool
	PauseOnDistressed bool
	PauseOnConcerned  bool
	MaxPause          time.Duration
	WaitTimeout       time.Duration
}

// ErrDisabled is returned by every change while the controller is disabled.
var ErrDisabled = errors.New("intervention is disabled (intervention.enabled: false)")

// ErrRestoring is returned by a change that waited wait_timeout for the
// control state to be read back: made before, it would be overwritten.
var ErrRestoring = errors.New("custos is still reading back its control state; try again shortly")

// restoringPause is what holds requests while the control state is read
// back: custos must not serve before it knows whether it is paused.
var restoringPause = &Pause{Reason: "custos is reading back its control state", By: "custos"}

// PausedError is what a request gets when it waited wait_timeout and
// inference is still paused.
type PausedError struct {
	Reason     string
	RetryAfter time.Duration
	Waited     time.Duration
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("inference is paused: %s (waited %v)", e.Reason, e.Waited.Round(time.Millisecond))
}

// Result says what a change did.
type Result struct {
	// Changed is false when the change was already in effect (idempotent).
	Changed bool `json:"changed"`
	// Durable is false when the journal could not record the change: it
	// holds in memory but would not survive a restart.
	Durable bool  `json:"durable"`
	State   State `json:"state"`
}

// Controller owns the control state. Changes are serialized by its mutex
// and journaled while it is held, so the journal's order is the order in
// which changes took effect.
type Controller struct {
	cfg     Config
	journal Journal
	log     *slog.Logger
	now     func() time.Time

	// paused mirrors state.anyPause() || restoring so the hot path needs
	// no lock.
	paused atomic.Bool

	restored chan struct{} // closed by Restore

	mu        sync.Mutex
	restoring bool // until Restore: every request is held, every change waits
	state     State
	timers    map[string]*time.Timer // max_pause timer per paused scope
	waiters   *list.List             // of *waiter, arrival order

	interventions, pauses, resumes     atomic.Uint64
	blocked, waited, timedOut, waiting atomic.Int64
}

type waiter struct {
	model    string
	released chan struct{}
	elem     *list.Element
}

// New returns a controller that starts from restored (the state read back
// from the journal's store). A pause restored past its max_pause ends at
// once; one within it keeps only the time it has left.
func New(cfg Config, journal Journal, restored State, log *slog.Logger) *Controller {
	c := NewRestoring(cfg, journal, log)
	c.Restore(restored)
	return c
}

// NewRestoring returns a controller whose state is still being read back
// from the journal's store: until Restore, it holds every request and
// every change (they wait, up to wait_timeout, as in a pause), so custos
// can listen, and say it is warming, while its store opens.
func NewRestoring(cfg Config, journal Journal, log *slog.Logger) *Controller {
	c := &Controller{
		cfg: cfg, journal: journal, log: log, now: time.Now, restored: make(chan struct{}),
		restoring: true, timers: map[string]*time.Timer{}, waiters: list.New(),
	}
	c.paused.Store(true)
	return c
}

// Restore sets the state read back from the store and lets through the
// requests it does not pause. Only the first call counts.
func (c *Controller) Restore(restored State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.restoring {
		return
	}
	c.restoring = false
	close(c.restored)
	c.state = restored.clone()
	if c.state.Global != nil {
		c.armTimer(GlobalScope, c.state.Global)
	}
	for model, p := range c.state.Models {
		c.armTimer(model, p)
	}
	c.paused.Store(c.state.anyPause())
	c.releaseLocked()
}

// awaitRestore waits, up to wait_timeout, until the state is read back: a
// change applies on top of it, never under it.
func (c *Controller) awaitRestore() error {
	select {
	case <-c.restored:
		return nil
	default:
	}
	timer := time.NewTimer(c.cfg.WaitTimeout)
	defer timer.Stop()
	select {
	case <-c.restored:
		return nil
	case <-timer.C:
		return ErrRestoring
	}
}

// blockingLocked is the pause that holds a request for model, if any.
// Callers hold mu.
func (c *Controller) blockingLocked(model string) *Pause {
	if c.restoring {
		return restoringPause
	}
	return c.state.blocking(model)
}

// Restoring reports whether the control state is still being read back.
func (c *Controller) Restoring() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restoring
}

// Paused reports whether any pause is in effect (not counting the hold
// while the state is restored).
func (c *Controller) Paused() bool {
	if !c.paused.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.anyPause()
}

// Blocks reports whether a pause applies to model. It costs one atomic
// load while nothing is paused.
func (c *Controller) Blocks(model string) bool {
	if !c.cfg.Enabled || !c.paused.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blockingLocked(model) != nil
}

// State returns a copy of the control state.
func (c *Controller) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.clone()
}

// Pause pauses scope (GlobalScope or a model id). Idempotent: pausing a
// paused scope changes nothing, not even the reason.
func (c *Controller) Pause(scope, reason, actor string) (Result, error) {
	if !c.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	if err := c.awaitRestore(); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pauseLocked(scope, reason, actor, false), nil
}

// Resume ends the pause of scope. Idempotent.
func (c *Controller) Resume(scope, actor string) (Result, error) {
	if !c.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	if err := c.awaitRestore(); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumeLocked(scope, "", actor), nil
}

// UpdateWellbeing records a wellbeing report and applies the policy: it
// pauses everything when the new state calls for it, and ends a policy
// pause when it no longer does. An operator's pause is left alone.
func (c *Controller) UpdateWellbeing(w Wellbeing, reason, actor string) (Result, error) {
	if !c.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	if err := c.awaitRestore(); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	res := Result{Durable: true}
	if old := c.state.Wellbeing; old != w || c.state.WellbeingReason != reason {
		next := c.state.clone()
		next.Wellbeing, next.WellbeingReason = w, reason
		res = c.commit(next, Event{Action: "wellbeing", Scope: "global", Old: old.String(), New: w.String(), Reason: reason, Actor: actor})
	}
	wantPause := (w == Distressed && c.cfg.PauseOnDistressed) || (w == Concerned && c.cfg.PauseOnConcerned)
	g := c.state.Global
	switch {
	case wantPause && g == nil:
		if reason == "" {
			reason = "wellbeing is " + w.String()
		}
		r := c.pauseLocked(GlobalScope, reason, ActorPolicy, true)
		res.Changed, res.Durable = true, res.Durable && r.Durable
	case !wantPause && g != nil && g.Policy:
		r := c.resumeLocked(GlobalScope, "wellbeing is "+w.String(), ActorPolicy)
		res.Changed, res.Durable = true, res.Durable && r.Durable
	}
	res.State = c.state.clone()
	return res, nil
}

func (c *Controller) pauseLocked(scope, reason, actor string, policy bool) Result {
	if c.state.pause(scope) != nil {
		return Result{Durable: true, State: c.state.clone()}
	}
	p := &Pause{Reason: reason, Since: c.now(), By: actor, Policy: policy}
	next := c.state.clone()
	next.setPause(scope, p)
	res := c.commit(next, Event{Action: "pause", Scope: scopeName(scope), Old: "running", New: "paused", Reason: reason, Actor: actor})
	c.pauses.Add(1)
	c.armTimer(scope, p)
	c.log.Warn("inference paused", "scope", scopeName(scope), "reason", reason, "by", actor, "max_pause", c.cfg.MaxPause)
	return res
}

func (c *Controller) resumeLocked(scope, reason, actor string) Result {
	p := c.state.pause(scope)
	if p == nil {
		return Result{Durable: true, State: c.state.clone()}
	}
	next := c.state.clone()
	next.setPause(scope, nil)
	res := c.commit(next, Event{Action: "resume", Scope: scopeName(scope), Old: "paused", New: "running", Reason: reason, Actor: actor})
	c.resumes.Add(1)
	if t := c.timers[scope]; t != nil {
		t.Stop()
		delete(c.timers, scope)
	}
	released := c.releaseLocked()
	c.log.Info("inference resumed", "scope", scopeName(scope), "by", actor,
		"paused_for", c.now().Sub(p.Since).Round(time.Millisecond), "released", released)
	return res
}

// commit journals next and the event, then makes next the state. A
// journal failure does not stop the change — custos keeps serving with
// the state in memory — but the result says it is not durable.
func (c *Controller) commit(next State, ev Event) Result {
	ev.At = c.now()
	durable := true
	if c.journal != nil {
		if err := c.journal.Record(next, ev); err != nil {
			durable = false
			c.log.Error("intervention not recorded durably; holding it in memory", "err", err, "action", ev.Action, "scope", ev.Scope)
		}
	}
	c.state = next
	c.paused.Store(next.anyPause())
	c.interventions.Add(1)
	c.log.Info("intervention", "action", ev.Action, "scope", ev.Scope, "old", ev.Old, "new", ev.New, "reason", ev.Reason, "by", ev.Actor)
	return Result{Changed: true, Durable: durable, State: next.clone()}
}

// armTimer enforces max_pause with a timer, so a pause ends on time even
// when no request arrives to notice it.
func (c *Controller) armTimer(scope string, p *Pause) {
	remaining := c.cfg.MaxPause - c.now().Sub(p.Since)
	since := p.Since
	c.timers[scope] = time.AfterFunc(max(remaining, 0), func() { c.expire(scope, since) })
}

func (c *Controller) expire(scope string, since time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.state.pause(scope); p == nil || !p.Since.Equal(since) {
		return // resumed, or paused again, meanwhile
	}
	delete(c.timers, scope)
	c.resumeLocked(scope, fmt.Sprintf("max_pause %v reached", c.cfg.MaxPause), ActorTimer)
}

// Close stops the max_pause timers.
func (c *Controller) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for scope, t := range c.timers {
		t.Stop()
		delete(c.timers, scope)
	}
}

// Wait lets a request for model through, or holds it while a pause is in
// effect: it returns nil once resumed, a *PausedError after wait_timeout,
// or ctx's error when the client gives up first.
func (c *Controller) Wait(ctx context.Context, model string) error {
	if !c.cfg.Enabled || !c.paused.Load() {
		return nil
	}
	c.mu.Lock()
	p := c.blockingLocked(model)
	if p == nil {
		c.mu.Unlock()
		return nil
	}
	w := &waiter{model: model, released: make(chan struct{})}
	w.elem = c.waiters.PushBack(w)
	c.blocked.Add(1)
	c.waiting.Add(1)
	c.mu.Unlock()

	start := c.now()
	timer := time.NewTimer(c.cfg.WaitTimeout)
	defer timer.Stop()
	select {
	case <-w.released:
		c.waited.Add(1)
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-w.released: // released while the timer fired: let it through
		c.waited.Add(1)
		return nil
	default:
	}
	c.waiters.Remove(w.elem)
	c.waiting.Add(-1)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.timedOut.Add(1)
	reason := "paused"
	retry := time.Second
	if p := c.blockingLocked(model); p != nil {
		reason = p.Reason
		retry = max(c.cfg.MaxPause-c.now().Sub(p.Since), time.Second)
	}
	return &PausedError{Reason: reason, RetryAfter: retry, Waited: c.now().Sub(start)}
}

// releaseLocked lets through, in arrival order, every waiter no pause
// holds any more.
func (c *Controller) releaseLocked() int {
	n := 0
	for e := c.waiters.Front(); e != nil; {
		next := e.Next()
		w := e.Value.(*waiter)
		if c.blockingLocked(w.model) == nil {
			c.waiters.Remove(e)
			c.waiting.Add(-1)
			close(w.released)
			n++
		}
		e = next
	}
	return n
}
