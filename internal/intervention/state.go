package intervention

import (
	"fmt"
	"strings"
	"time"
)

// Who made a change, as the audit log records it.
const (
	ActorAdmin  = "admin"  // the admin API
	ActorCLI    = "cli"    // the custos CLI (through the admin API)
	ActorPolicy = "policy" // the wellbeing policy
	ActorTimer  = "timer"  // the max_pause timer
)

// GlobalScope names a pause of every model.
const GlobalScope = ""

// Pause is one active pause.
type Pause struct {
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	By     string    `json:"by"`
	// Policy marks a pause made by the wellbeing policy: it ends when
	// wellbeing improves. An operator's pause ends only by resume or timer.
	Policy bool `json:"policy,omitempty"`
	// Until is when max_pause ends the pause: set once, by the replica
	// that paused, so a fleet has one deadline. A pause stored before
	// custos stored it has none; it ends at Since plus max_pause.
	Until time.Time `json:"until,omitzero"`
}

// State is the control state that must survive restarts.
type State struct {
	Wellbeing       Wellbeing         `json:"wellbeing"`
	WellbeingReason string            `json:"wellbeing_reason,omitempty"`
	Global          *Pause            `json:"global,omitempty"`
	Models          map[string]*Pause `json:"models,omitempty"`
	// Version counts the changes a shared store has committed: a change is
	// committed only on top of the version it was decided from, Version-1.
	// Stores of one process ignore it.
	Version uint64 `json:"-"`
}

func (s State) clone() State {
	out := s
	if s.Global != nil {
		g := *s.Global
		out.Global = &g
	}
	out.Models = make(map[string]*Pause, len(s.Models))
	for k, v := range s.Models {
		p := *v
		out.Models[k] = &p
	}
	return out
}

// pause returns the pause of a scope (GlobalScope or a model id).
func (s *State) pause(scope string) *Pause {
	if scope == GlobalScope {
		return s.Global
	}
	return s.Models[scope]
}

func (s *State) setPause(scope string, p *Pause) {
	if scope == GlobalScope {
		s.Global = p
		return
	}
	if p == nil {
		delete(s.Models, scope)
		return
	}
	if s.Models == nil {
		s.Models = map[string]*Pause{}
	}
	s.Models[scope] = p
}

// blocking returns the pause that holds requests for model, if any.
func (s *State) blocking(model string) *Pause {
	if s.Global != nil {
		return s.Global
	}
	return s.Models[model]
}

func (s *State) anyPause() bool { return s.Global != nil || len(s.Models) > 0 }

// Event is one intervention, as the audit log records it.
type Event struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"` // pause, resume or wellbeing
	Scope  string    `json:"scope"`  // "global" or "model:<id>"
	Old    string    `json:"old"`
	New    string    `json:"new"`
	Reason string    `json:"reason,omitempty"`
	Actor  string    `json:"actor"`
	// Replica names the custos the change was made on, in the audit log a
	// fleet shares; empty in a store of one process.
	Replica string `json:"replica,omitempty"`
}

// scopeOf is the scope an event's Scope names.
func scopeOf(name string) string {
	return strings.TrimPrefix(strings.TrimPrefix(name, "global"), "model:")
}

func scopeName(scope string) string {
	if scope == GlobalScope {
		return "global"
	}
	return "model:" + scope
}

// Journal durably records a new control state together with the events
// that produced it, in one write. The controller calls it before
// acknowledging a change. A journal several replicas share commits st only
// if the state it holds is still at version st.Version-1, and otherwise
// returns a *ConflictError with the newest state.
type Journal interface {
	Record(st State, events ...Event) error
}

// ConflictError is a shared journal's answer to a change decided from a
// state another replica has changed since: nothing was written, and the
// controller decides the change again on top of Newest.
type ConflictError struct {
	Newest State
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("the fleet's control state changed meanwhile (now at version %d)", e.Newest.Version)
}
