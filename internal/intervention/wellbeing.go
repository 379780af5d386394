// Package intervention is the controller of seed 004: an operator, or a
// wellbeing signal, pauses inference; requests wait rather than fail;
// resume releases them in arrival order; a maximum pause bounds it, with a
// timer rather than a check on the next request; every intervention is
// journaled before it is acknowledged.
package intervention

import (
	"encoding/json"
	"fmt"
)

// Wellbeing is the reported wellbeing of what custos serves.
type Wellbeing int

const (
	// Healthy: operating normally.
	Healthy Wellbeing = iota
	// Cautious: signs of uncertainty.
	Cautious
	// Concerned: struggling; pauses when PauseOnConcerned.
	Concerned
	// Distressed: in distress; pauses when PauseOnDistressed.
	Distressed
)

var wellbeingNames = [...]string{"healthy", "cautious", "concerned", "distressed"}

func (w Wellbeing) String() string {
	if w >= 0 && int(w) < len(wellbeingNames) {
		return wellbeingNames[w]
	}
	return fmt.Sprintf("Wellbeing(%d)", int(w))
}

// ParseWellbeing reads a wellbeing name.
func ParseWellbeing(s string) (Wellbeing, error) {
	for i, n := range wellbeingNames {
		if n == s {
			return Wellbeing(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a wellbeing state (want healthy, cautious, concerned or distressed)", s)
}

// MarshalJSON writes the name.
func (w Wellbeing) MarshalJSON() ([]byte, error) { return json.Marshal(w.String()) }

// UnmarshalJSON reads the name.
func (w *Wellbeing) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseWellbeing(s)
	if err == nil {
		*w = v
	}
	return err
}
