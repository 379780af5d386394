package readiness

import (
	"sync/atomic"
	"time"
)

// Subsystem names used by custos.
const (
	StateStore = "state_store"
	Engine     = "engine"
)

// Source reports a subsystem's current state and a short human-readable
// detail. It is called whenever the gate is evaluated, so it must be cheap
// and must not block.
type Source interface {
	Readiness() (State, string)
}

// SourceFunc adapts a function to Source.
type SourceFunc func() (State, string)

// Readiness calls f.
func (f SourceFunc) Readiness() (State, string) { return f() }

// SubsystemStatus is one subsystem's evaluated state.
type SubsystemStatus struct {
	Name   string `json:"name"`
	State  State  `json:"state"`
	Detail string `json:"detail,omitempty"`
	// Promoted is true when the deadline turned a Warming state into Degraded.
	Promoted bool `json:"promoted,omitempty"`
}

// Status is the gate evaluated at one instant.
type Status struct {
	Open       bool              `json:"open"`
	Draining   bool              `json:"draining,omitempty"`
	Deadline   time.Time         `json:"deadline"`
	Subsystems []SubsystemStatus `json:"subsystems"`
}

// Subsystem is a named Source.
type Subsystem struct {
	Name   string
	Source Source
}

// Gate derives its state from its sources every time it is asked, so it
// can never disagree with them; it owns only the deadline and the draining
// flag. Its subsystems are fixed at construction, so reading needs no lock.
type Gate struct {
	deadline   time.Time
	now        func() time.Time
	draining   atomic.Bool
	subsystems []Subsystem
}

// New returns a gate over subsystems whose Warming states are promoted to
// Degraded at deadline. A zero deadline disables promotion.
func New(deadline time.Time, subsystems ...Subsystem) *Gate {
	return &Gate{deadline: deadline, now: time.Now, subsystems: subsystems}
}

// Drain closes the gate for good: custos is shutting down.
func (g *Gate) Drain() { g.draining.Store(true) }

// Open reports whether protected routes may serve now.
func (g *Gate) Open() bool {
	if g.draining.Load() {
		return false
	}
	now := g.now()
	for _, sub := range g.subsystems {
		state, _ := sub.Source.Readiness()
		if !promote(state, now, g.deadline).Serving() {
			return false
		}
	}
	return true
}

// Status evaluates every subsystem.
func (g *Gate) Status() Status {
	now := g.now()
	st := Status{Open: true, Draining: g.draining.Load(), Deadline: g.deadline}
	for _, sub := range g.subsystems {
		state, detail := sub.Source.Readiness()
		eff := promote(state, now, g.deadline)
		st.Subsystems = append(st.Subsystems, SubsystemStatus{
			Name: sub.Name, State: eff, Detail: detail, Promoted: eff != state,
		})
		if !eff.Serving() {
			st.Open = false
		}
	}
	if st.Draining {
		st.Open = false
	}
	return st
}

// promote applies the deadline: Warming past it counts as Degraded.
func promote(s State, now, deadline time.Time) State {
	if s == Warming && !deadline.IsZero() && !now.Before(deadline) {
		return Degraded
	}
	return s
}
