package intervention

import (
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
	// MaxHeld and MaxHeldBytes bound the requests pauses hold at once, and
	// their bodies; a request arriving past either bound is refused
	// (HeldFullError) rather than kept in memory. Zero is no bound.
	MaxHeld      int
	MaxHeldBytes int64
}

// policyPauses reports whether the wellbeing policy pauses inference at w.
// Each setting is a threshold: pausing at concerned pauses at anything
// worse too, so a worse report never lifts a pause a better one imposed.
func (c Config) policyPauses(w Wellbeing) bool {
	return (c.PauseOnDistressed && w >= Distressed) || (c.PauseOnConcerned && w >= Concerned)
}

var (
	// ErrDisabled is returned by a pause or a wellbeing report while the
	// controller is disabled.
	ErrDisabled = errors.New("intervention is disabled (intervention.enabled: false)")
	// ErrRestoring is returned by a change that could not wait any longer
	// for the control state to be read back; made before, it would be
	// overwritten, so it was not applied.
	ErrRestoring = errors.New("custos is still reading back its control state; the change was not applied, try again shortly")
	// ErrBusy is returned by a change that could not wait any longer for
	// the change before it to be written; it was not applied.
	ErrBusy = errors.New("another control change is still being written to the store; this one was not applied, try again")
	// ErrClosed is returned by a change after Close.
	ErrClosed = errors.New("custos is shutting down; the change was not applied")
	// ErrShuttingDown is what a held request gets when custos drains: a
	// pause would hold it past the end of the process.
	ErrShuttingDown = errors.New("custos is shutting down")
)

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

// HeldFullError is what a request arriving during a pause gets when pauses
// already hold as many requests, or as many bytes of them, as allowed.
type HeldFullError struct {
	Reason     string // the pause's
	Limit      string // which bound, in the configuration's words
	RetryAfter time.Duration
}

func (e *HeldFullError) Error() string {
	return fmt.Sprintf("inference is paused (%s) and no more requests can be held: %s reached", e.Reason, e.Limit)
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

// view is one published control state. It is never modified once
// published; the next change replaces it and closes changed.
type view struct {
	state     State
	restoring bool
	anyPause  bool // restoring or any pause: the one check of the hot path
	changed   chan struct{}
}

// blocking is the pause that holds a request for model, if any.
func (v *view) blocking(model string) *Pause {
	if !v.anyPause {
		return nil
	}
	if v.restoring {
		return restoringPause
	}
	return v.state.blocking(model)
}

// Controller owns the control state. Requests read it without a lock, from
// an immutable published view; changes are serialized by a lock that is
// never taken on the request path, and journaled while it is held, so the
// journal's order is the order in which changes took effect and a slow
// disk delays only the change being written, never a request.
//
// A change takes effect when it is published, before it is journaled: a
// pause holds requests at once, and the answer to the operator waits for
// the journal and says whether the change is durable.
type Controller struct {
	cfg     Config
	journal Journal
	log     *slog.Logger
	now     func() time.Time
	// afterFunc starts a max_pause timer (time.AfterFunc; tests replace it).
	afterFunc func(time.Duration, func()) *time.Timer

	current  atomic.Pointer[view]
	restored chan struct{} // closed by Restore, or by Adopt while restoring
	draining chan struct{} // closed by Drain
	drain    sync.Once

	// changeLock is the change lock, a channel so a change can give up
	// waiting for it. The fields below belong to its holder.
	changeLock chan struct{}
	closed     bool
	timers     map[string]pauseTimer // max_pause timer per paused scope
	// fleetVersion is the version of the newest state known to be in the
	// journal: the state restored, adopted or last recorded. A change is
	// journaled on top of it.
	fleetVersion uint64

	interventions, pauses, resumes     atomic.Uint64
	blocked, waited, timedOut, refused atomic.Int64
	held, heldBytes                    atomic.Int64
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
// from the journal's store: until Restore, it holds every request, and
// changes wait for it, so custos can listen, and say it is warming, while
// its store opens.
func NewRestoring(cfg Config, journal Journal, log *slog.Logger) *Controller {
	c := &Controller{
		cfg: cfg, journal: journal, log: log, now: time.Now, afterFunc: time.AfterFunc,
		restored: make(chan struct{}), draining: make(chan struct{}),
		changeLock: make(chan struct{}, 1), timers: map[string]pauseTimer{},
	}
	c.current.Store(&view{restoring: true, anyPause: true, changed: make(chan struct{})})
	return c
}

// publish makes next the state requests see and wakes everything waiting
// for a change. Callers hold the change lock.
func (c *Controller) publish(next State, restoring bool) {
	v := &view{state: next, restoring: restoring, anyPause: restoring || next.anyPause(), changed: make(chan struct{})}
	close(c.current.Swap(v).changed)
}

// lock takes the change lock, giving up when ctx ends.
func (c *Controller) lock(ctx context.Context) error {
	select {
	case c.changeLock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrBusy
	}
}

func (c *Controller) unlock() { <-c.changeLock }

// Restore sets the state read back from the store and lets through the
// requests it does not pause. Only the first call counts.
func (c *Controller) Restore(restored State) {
	_ = c.lock(context.Background())
	defer c.unlock()
	c.restoreLocked(restored)
}

func (c *Controller) restoreLocked(restored State) {
	if !c.current.Load().restoring || c.closed {
		return
	}
	st := restored.clone()
	c.fleetVersion = st.Version
	c.publish(st, false)
	c.reconcileTimers(st)
	close(c.restored)
}

// Restoring reports whether the control state is still being read back.
func (c *Controller) Restoring() bool { return c.current.Load().restoring }

// Paused reports whether any pause is in effect (not counting the hold
// while the state is restored).
func (c *Controller) Paused() bool { return c.current.Load().state.anyPause() }

// Blocks reports whether a pause applies to model now. It takes no lock
// and costs one atomic load while nothing is paused.
func (c *Controller) Blocks(model string) bool {
	return c.cfg.Enabled && c.current.Load().blocking(model) != nil
}

// Changed returns a channel closed at the next change of the control
// state. Take it before Blocks, so no change falls between the two.
func (c *Controller) Changed() <-chan struct{} { return c.current.Load().changed }

// State returns a copy of the control state.
func (c *Controller) State() State { return c.current.Load().state.clone() }

// beginChange waits, within ctx, until the control state is known and no
// other change is being made; then the caller holds the change lock. A
// change that gives up is never applied later.
func (c *Controller) beginChange(ctx context.Context) error {
	select {
	case <-c.restored:
	case <-ctx.Done():
		return ErrRestoring
	}
	if err := c.lock(ctx); err != nil {
		return err
	}
	if c.closed {
		c.unlock()
		return ErrClosed
	}
	return nil
}

// Pause pauses scope (GlobalScope or a model id). Idempotent: pausing a
// paused scope changes nothing, not even the reason.
func (c *Controller) Pause(ctx context.Context, scope, reason, actor string) (Result, error) {
	if !c.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	if err := c.beginChange(ctx); err != nil {
		return Result{}, err
	}
	defer c.unlock()
	return c.apply(func(cur State) (State, []Event) {
		if cur.pause(scope) != nil {
			return cur, nil
		}
		next := cur.clone()
		return next, []Event{c.addPause(&next, scope, reason, actor, false)}
	}), nil
}

// Resume ends the pause of scope. Idempotent. It works while intervention
// is disabled too, so that a pause stored before it was disabled can be
// cleared.
func (c *Controller) Resume(ctx context.Context, scope, actor string) (Result, error) {
	if err := c.beginChange(ctx); err != nil {
		return Result{}, err
	}
	defer c.unlock()
	return c.apply(func(cur State) (State, []Event) {
		if cur.pause(scope) == nil {
			return cur, nil
		}
		next := cur.clone()
		return next, []Event{removePause(&next, scope, "", actor)}
	}), nil
}

// UpdateWellbeing records a wellbeing report and applies the policy: it
// pauses everything when the new state calls for it, and ends a policy
// pause when it no longer does. An operator's pause is left alone. The
// report and what the policy does with it are one change, one write.
func (c *Controller) UpdateWellbeing(ctx context.Context, w Wellbeing, reason, actor string) (Result, error) {
	if !c.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	if err := c.beginChange(ctx); err != nil {
		return Result{}, err
	}
	defer c.unlock()
	return c.apply(func(cur State) (State, []Event) {
		next := cur.clone()
		var events []Event
		if old := cur.Wellbeing; old != w || cur.WellbeingReason != reason {
			next.Wellbeing, next.WellbeingReason = w, reason
			events = append(events, Event{Action: "wellbeing", Scope: "global", Old: old.String(), New: w.String(), Reason: reason, Actor: actor})
		}
		switch want := c.cfg.policyPauses(w); {
		case want && next.Global == nil:
			pauseReason := reason
			if pauseReason == "" {
				pauseReason = "wellbeing is " + w.String()
			}
			events = append(events, c.addPause(&next, GlobalScope, pauseReason, ActorPolicy, true))
		case !want && next.Global != nil && next.Global.Policy:
			events = append(events, removePause(&next, GlobalScope, "wellbeing is "+w.String(), ActorPolicy))
		}
		return next, events
	}), nil
}

// decision decides a change from the state in effect: the next state and
// the events that make it, none when the change is in effect already. It
// only computes, so that a change that raced another replica's can be
// decided again on top of the state that replica committed.
type decision func(cur State) (State, []Event)

// maxConflicts bounds how often one change is decided again after losing
// a race on the shared journal; each loss means another replica committed.
const maxConflicts = 50

// apply makes a change: it publishes what decide makes of the state in
// effect, then journals it with its events in one write. A journal failure
// does not undo the change — custos keeps serving with the state in memory
// — but the result says it is not durable. A shared journal that answers
// with a conflict holds the fleet's newer state: it is adopted, and the
// change decided again on top of it, so the change an operator is told
// about is the one in the fleet's state and audit log. Callers hold the
// change lock.
func (c *Controller) apply(decide decision) Result {
	for attempt := 1; ; attempt++ {
		cur := c.current.Load().state
		next, events := decide(cur)
		if len(events) == 0 {
			return Result{Durable: true, State: cur.clone()}
		}
		now := c.now()
		for i := range events {
			events[i].At = now
		}
		next.Version = c.fleetVersion + 1
		c.publish(next, false)
		var err error
		if c.journal != nil {
			err = c.journal.Record(next, events...)
		}
		var conflict *ConflictError
		if errors.As(err, &conflict) && attempt < maxConflicts {
			c.adoptLocked(conflict.Newest)
			continue
		}
		c.reconcileTimers(next)
		c.noteChange(cur, events)
		if err != nil {
			c.log.Error("intervention not recorded durably; holding it in memory", "err", err, "action", events[0].Action, "scope", events[0].Scope)
			return Result{Changed: true, Durable: false, State: next.clone()}
		}
		c.fleetVersion = next.Version
		return Result{Changed: true, Durable: true, State: next.clone()}
	}
}

// addPause pauses scope in next until max_pause from now, and returns the
// event.
func (c *Controller) addPause(next *State, scope, reason, actor string, policy bool) Event {
	now := c.now()
	next.setPause(scope, &Pause{Reason: reason, Since: now, Until: now.Add(c.cfg.MaxPause), By: actor, Policy: policy})
	return Event{Action: "pause", Scope: scopeName(scope), Old: "running", New: "paused", Reason: reason, Actor: actor}
}

// removePause ends the pause of scope in next, and returns the event.
func removePause(next *State, scope, reason, actor string) Event {
	next.setPause(scope, nil)
	return Event{Action: "resume", Scope: scopeName(scope), Old: "paused", New: "running", Reason: reason, Actor: actor}
}

// noteChange counts and logs the events of a change made from prior.
func (c *Controller) noteChange(prior State, events []Event) {
	for _, ev := range events {
		c.interventions.Add(1)
		switch ev.Action {
		case "pause":
			c.pauses.Add(1)
			c.log.Warn("inference paused", "scope", ev.Scope, "reason", ev.Reason, "by", ev.Actor, "max_pause", c.cfg.MaxPause)
		case "resume":
			c.resumes.Add(1)
			if p := prior.pause(scopeOf(ev.Scope)); p != nil {
				c.log.Info("inference resumed", "scope", ev.Scope, "by", ev.Actor,
					"paused_for", c.now().Sub(p.Since).Round(time.Millisecond), "held", c.held.Load())
			}
		}
		c.log.Info("intervention", "action", ev.Action, "scope", ev.Scope, "old", ev.Old, "new", ev.New, "reason", ev.Reason, "by", ev.Actor)
	}
}

// expire ends the pause of scope that began at since, unless it ended
// meanwhile or the controller is closed: after Close nothing is journaled.
// In a fleet every replica's timer fires at the pause's one deadline; the
// first to commit ends the pause, and the others, deciding again on top of
// its state, find nothing left to end: one expiry in the audit log.
func (c *Controller) expire(scope string, since time.Time) {
	_ = c.lock(context.Background())
	defer c.unlock()
	if c.closed {
		return
	}
	c.apply(func(cur State) (State, []Event) {
		if p := cur.pause(scope); p == nil || !p.Since.Equal(since) {
			return cur, nil // resumed, or paused again, meanwhile
		}
		next := cur.clone()
		return next, []Event{removePause(&next, scope, fmt.Sprintf("max_pause %v reached", c.cfg.MaxPause), ActorTimer)}
	})
}

// Close stops the max_pause timers and refuses every later change, so the
// journal's store can be closed after it. A change being written finishes
// first.
func (c *Controller) Close() {
	_ = c.lock(context.Background())
	defer c.unlock()
	c.closed = true
	c.reconcileTimers(State{})
}

// Drain answers every request held now, and every one that would be held
// from now on, with ErrShuttingDown: a drain must not wait for a pause.
func (c *Controller) Drain() { c.drain.Do(func() { close(c.draining) }) }

// Hold is how a request waits on a pause.
type Hold struct {
	// Bytes is the size of the request's body, counted against
	// MaxHeldBytes while it is held.
	Bytes int64
	// Admitted is true for a request custos had already accepted before a
	// pause caught it (one waiting in a queue): it keeps its place and is
	// never refused by the bounds on held requests.
	Admitted bool
}

// Wait lets a request for model through, or holds it while a pause
// applies to it: it returns nil once no pause does, a *PausedError after
// wait_timeout, a *HeldFullError at once when too many requests are held
// already, ErrShuttingDown when custos drains, or ctx's error when the
// client gives up first.
func (c *Controller) Wait(ctx context.Context, model string, h Hold) error {
	if !c.cfg.Enabled {
		return nil
	}
	v := c.current.Load()
	p := v.blocking(model)
	if p == nil {
		return nil
	}
	if err := c.takeHold(h, p); err != nil {
		return err
	}
	defer c.dropHold(h)
	c.blocked.Add(1)
	start := c.now()
	timer := time.NewTimer(c.cfg.WaitTimeout)
	defer timer.Stop()
	for {
		select {
		case <-v.changed:
		case <-timer.C:
			v = c.current.Load()
			if p := v.blocking(model); p != nil {
				c.timedOut.Add(1)
				return &PausedError{Reason: p.Reason, RetryAfter: c.retryAfter(p), Waited: c.now().Sub(start)}
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-c.draining:
			return ErrShuttingDown
		}
		v = c.current.Load()
		if v.blocking(model) == nil {
			c.waited.Add(1)
			return nil
		}
	}
}

// takeHold counts a request as held, refusing a new one past the bounds.
func (c *Controller) takeHold(h Hold, p *Pause) error {
	select {
	case <-c.draining:
		return ErrShuttingDown
	default:
	}
	if h.Admitted {
		c.held.Add(1)
		c.heldBytes.Add(h.Bytes)
		return nil
	}
	for {
		n := c.held.Load()
		if c.cfg.MaxHeld > 0 && n >= int64(c.cfg.MaxHeld) {
			return c.refuse(p, fmt.Sprintf("intervention.max_held (%d requests)", c.cfg.MaxHeld))
		}
		if c.held.CompareAndSwap(n, n+1) {
			break
		}
	}
	if b := c.heldBytes.Add(h.Bytes); c.cfg.MaxHeldBytes > 0 && b > c.cfg.MaxHeldBytes && h.Bytes > 0 {
		c.held.Add(-1)
		c.heldBytes.Add(-h.Bytes)
		return c.refuse(p, fmt.Sprintf("intervention.max_held_bytes (%d bytes of bodies)", c.cfg.MaxHeldBytes))
	}
	return nil
}

func (c *Controller) refuse(p *Pause, limit string) error {
	c.refused.Add(1)
	return &HeldFullError{Reason: p.Reason, Limit: limit, RetryAfter: c.retryAfter(p)}
}

func (c *Controller) dropHold(h Hold) {
	c.held.Add(-1)
	c.heldBytes.Add(-h.Bytes)
}

// retryAfter is when a client might try again: when max_pause ends p at
// the latest, and at least a second from now.
func (c *Controller) retryAfter(p *Pause) time.Duration {
	if p.Since.IsZero() {
		return time.Second
	}
	return max(c.deadline(p).Sub(c.now()), time.Second)
}
