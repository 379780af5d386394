package gateway

import (
	"context"

	"custos/internal/intervention"
)

// Pauser holds requests while inference is paused (the intervention
// controller implements it). A request that has not reached a backend is
// held by a pause that applies to it wherever it waits: on arrival, in
// line for a slot, waiting for its backend to be ready, before a retry.
type Pauser interface {
	// Blocks reports whether a pause applies to model now; it must be
	// cheap and take no lock, as the limiter asks under its own.
	Blocks(model string) bool
	// Changed returns a channel closed at the next change of the control
	// state; taken before Blocks, no change falls between the two.
	Changed() <-chan struct{}
	// Wait holds a request for model until no pause applies to it.
	Wait(ctx context.Context, model string, h intervention.Hold) error
	// Drain answers every held request at once, and every later one.
	Drain()
}

// noPause is the Pauser of a gateway without one: nothing is ever held.
type noPause struct{}

func (noPause) Blocks(string) bool                                    { return false }
func (noPause) Changed() <-chan struct{}                              { return nil }
func (noPause) Wait(context.Context, string, intervention.Hold) error { return nil }
func (noPause) Drain()                                                {}
