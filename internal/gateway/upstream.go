package gateway

import (
	"context"
	"errors"
	"time"

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

var (
	errUseFallback = errors.New("use the fallback")
	errUnhealthy   = errors.New("model unhealthy")
	errNotReady    = errors.New("backend not ready in time")
)

// awaitReady waits until the backend is ready and returns its URL, or
// decides that the request belongs to the fallback, or gives up at
// deadline. It wakes on every state change, at the moment a loading model
// passes the readiness deadline, when the fallback takes over, and when
// pauseChanged is closed (errPauseChanged: the caller looks whether a
// pause now holds the request).
func (g *Gateway) awaitReady(ctx context.Context, m *model, deadline time.Time, pauseChanged <-chan struct{}) (string, supervisor.Snapshot, error) {
	for {
		snap, changed := m.upstream.Watch()
		now := time.Now()
		if snap.State == supervisor.StateReady && snap.URL != "" {
			return snap.URL, snap, nil
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
