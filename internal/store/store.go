// Package store holds custos's durable control state. It is the readiness
// gate's state_store subsystem: the gate asks a Store how it is doing.
// Today the only store is Memory; a SQLite store (and later a shared one
// for several replicas) plugs in behind the same interface.
package store

import "custos/internal/readiness"

// Store is the control-state store as the rest of custos sees it.
type Store interface {
	// Kind names the implementation, for /status ("memory", "sqlite", ...).
	Kind() string
	// Readiness is the state_store subsystem's state and a short detail.
	Readiness() (readiness.State, string)
	// Close releases the store.
	Close() error
}

// Memory keeps control state in the process. It is Ready as soon as it
// exists, and what it holds does not survive a restart.
type Memory struct{}

// NewMemory returns an open in-memory store.
func NewMemory() *Memory { return &Memory{} }

// Kind returns "memory".
func (*Memory) Kind() string { return "memory" }

// Readiness is always Ready: there is nothing to open.
func (*Memory) Readiness() (readiness.State, string) {
	return readiness.Ready, "in-memory control state (not durable)"
}

// Close does nothing.
func (*Memory) Close() error { return nil }
