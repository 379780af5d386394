// Package store holds custos's durable control state. It is the readiness
// gate's state_store subsystem and the intervention controller's journal.
// SQLite is the store of one custos; Postgres is the store a fleet of
// replicas shares (store.driver: postgres); Memory serves tests and the
// case where durability is not wanted.
package store

import (
	"sync"

	"custos/internal/intervention"
	"custos/internal/readiness"
)

// Store is the control-state store as the rest of custos sees it.
type Store interface {
	// Kind names the implementation, for /status ("memory", "sqlite", ...).
	Kind() string
	// Readiness is the state_store subsystem's state and a short detail.
	Readiness() (readiness.State, string)
	// Record durably commits a control state with the events that made it.
	Record(st intervention.State, events ...intervention.Event) error
	// Audit returns up to limit events, newest first, after skipping the
	// offset newest (a page of the log).
	Audit(offset, limit int) ([]intervention.Event, error)
	// Close releases the store.
	Close() error
}

// memoryAuditMax bounds the in-memory audit log.
const memoryAuditMax = 10000

// Memory keeps control state in the process: Ready at once, lost on exit.
type Memory struct {
	mu     sync.Mutex
	events []intervention.Event
}

// NewMemory returns an open in-memory store.
func NewMemory() *Memory { return &Memory{} }

// Kind returns "memory".
func (*Memory) Kind() string { return "memory" }

// Readiness is always Ready: there is nothing to open.
func (*Memory) Readiness() (readiness.State, string) {
	return readiness.Ready, "in-memory control state (not durable)"
}

// Record keeps the events; the state itself lives in the controller.
func (m *Memory) Record(_ intervention.State, events ...intervention.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ev := range events {
		if len(m.events) == memoryAuditMax {
			m.events = append(m.events[:0], m.events[1:]...)
		}
		m.events = append(m.events, ev)
	}
	return nil
}

// Audit returns up to limit events, newest first, skipping the offset newest.
func (m *Memory) Audit(offset, limit int) ([]intervention.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]intervention.Event, 0, max(0, min(limit, len(m.events)-offset)))
	for i := len(m.events) - 1 - offset; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.events[i])
	}
	return out, nil
}

// Close does nothing.
func (*Memory) Close() error { return nil }
