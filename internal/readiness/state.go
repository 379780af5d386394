// Package readiness is the gate that decides when protected routes open
// (seed 002): each subsystem — the state store and the engine — is Warming,
// Ready, Degraded or Failed, and the gate is open only while every one of
// them is Ready or Degraded. A deadline promotes a subsystem still Warming
// to Degraded so a slow start cannot keep the gate shut for ever.
package readiness

import (
	"encoding/json"
	"fmt"
)

// State is the coarse readiness of one subsystem.
type State int

const (
	// Warming: starting up; counts as not ready.
	Warming State = iota
	// Ready: fully operational.
	Ready
	// Degraded: operational with limitations; counts as ready.
	Degraded
	// Failed: not usable; keeps the gate closed.
	Failed
)

var stateNames = [...]string{"Warming", "Ready", "Degraded", "Failed"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Serving reports whether the state lets the gate open.
func (s State) Serving() bool { return s == Ready || s == Degraded }

// MarshalJSON writes the state's name, as the seed's status JSON does.
func (s State) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a state's name, so clients such as `custos status`
// can decode /status.
func (s *State) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for i, n := range stateNames {
		if n == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown readiness state %q", name)
}
