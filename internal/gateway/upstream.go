package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"custos/internal/remote"
	"custos/internal/supervisor"
)

// Upstream is a supervised backend as the gateway sees it
// (*supervisor.Backend implements it).
type Upstream interface {
	// Watch returns the current snapshot and a channel closed at the next change.
	Watch() (supervisor.Snapshot, <-chan struct{})
	// ReportFailure tells the supervisor a connection to the backend failed.
	ReportFailure(err error)
	// ReportAnswer tells the supervisor the status the backend answered a
	// request with: a streak of 5xx gets it checked.
	ReportAnswer(status int)
	// RetryBudget is a fresh budget for one request: the supervisor's
	// rules say how often, and how long, a failing backend is worth trying.
	RetryBudget() *supervisor.RetryBudget
}

// Replicas is a model served by several servers custos does not run
// (*remote.Pool implements it): the gateway asks it, for each attempt of
// a request, which replica to send it to, and tells that replica how the
// attempt ended. A local backend is the set of one, with its own retry
// rule (its process is waited for and tried again), and keeps its direct
// path (Upstream).
type Replicas interface {
	// Watch returns the model's snapshot, made of its replicas', and a
	// channel closed at the next change.
	Watch() (supervisor.Snapshot, <-chan struct{})
	// Key is the request body's affinity key (0: none).
	Key(body []byte) uint64
	// Pick chooses the replica for one attempt, never one of tried,
	// counting the attempt in flight on it until its Done; false when no
	// untried replica is ready.
	Pick(key uint64, tried []*remote.Replica) (*remote.Replica, bool)
	// Spare reports whether a ready replica is left beside tried.
	Spare(tried []*remote.Replica) bool
	// UpstreamModel is the name the replicas know the model by.
	UpstreamModel() string
	// Header holds what every request to a replica carries (its key).
	Header() http.Header
	// Transport carries the requests to the replicas.
	Transport() http.RoundTripper
}

// watcher is what the gateway reads of any model's backend: its state.
type watcher interface {
	Watch() (supervisor.Snapshot, <-chan struct{})
}

// readyFunc says whether a model whose snapshot is snap can take the
// request now, and where it goes; an error ends the wait.
type readyFunc func(snap supervisor.Snapshot) (url string, ok bool, err error)

// localReady: a local backend takes requests once ready, at its URL.
func localReady(snap supervisor.Snapshot) (string, bool, error) {
	return snap.URL, snap.State == supervisor.StateReady && snap.URL != "", nil
}

var (
	errUseFallback = errors.New("use the fallback")
	errUnhealthy   = errors.New("model unhealthy")
	errNotReady    = errors.New("backend not ready in time")
)

// awaitReady waits until the backend is ready (ready says so) and returns its URL, or
// decides that the request belongs to the fallback, or gives up at
// deadline. It wakes on every state change, at the moment a loading model
// passes the readiness deadline, when the fallback takes over, and when
// pauseChanged is closed (errPauseChanged: the caller looks whether a
// pause now holds the request).
func (g *Gateway) awaitReady(ctx context.Context, m *model, deadline time.Time, pauseChanged <-chan struct{}, ready readyFunc) (string, supervisor.Snapshot, error) {
	for {
		snap, changed := m.state.Watch()
		now := time.Now()
		if url, ok, err := ready(snap); ok || err != nil {
			return url, snap, err
		}
		if g.shouldFallback(snap, now) {
			return "", snap, errUseFallback
		}
		if snap.State == supervisor.StateUnhealthy {
			return "", snap, errUnhealthy
		}
		wake := deadline
		if g.fallback != nil && !snap.NotReadySince.IsZero() {
			if t := snap.NotReadySince.Add(g.cfg.Readiness.Deadline); t.Before(wake) {
				wake = t
			}
		}
		if !now.Before(deadline) {
			return "", snap, errNotReady
		}
		timer := time.NewTimer(wake.Sub(now))
		select {
		case <-changed:
		case <-timer.C:
		case <-pauseChanged:
			timer.Stop()
			return "", snap, errPauseChanged
		case <-ctx.Done():
			timer.Stop()
			return "", snap, ctx.Err()
		}
		timer.Stop()
	}
}

// shouldFallback: an unhealthy model, or one still loading past the
// readiness deadline, is served by the fallback when one is configured.
func (g *Gateway) shouldFallback(s supervisor.Snapshot, now time.Time) bool {
	if g.fallback == nil {
		return false
	}
	if s.State == supervisor.StateUnhealthy {
		return true
	}
	return s.State != supervisor.StateReady && !s.NotReadySince.IsZero() &&
		now.Sub(s.NotReadySince) >= g.cfg.Readiness.Deadline
}
