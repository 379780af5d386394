package remote

import (
	"time"

	"custos/internal/supervisor"
)

// ReplicaState is where one replica is. A replica has no process for
// custos to start, so its states are not a backend's: it is loading until
// its first passing probe, ready while its probes pass, ejected (no
// requests) for eject_cooldown after it fails — the place of a local
// backend's restart — and retiring once discovery no longer finds it,
// until its requests in flight are done.
type ReplicaState int

const (
	// ReplicaLoading: not ready yet; its probes have not passed (a
	// llama-server loading its model, a host custos not ready).
	ReplicaLoading ReplicaState = iota
	// ReplicaReady: its probes pass; requests go to it.
	ReplicaReady
	// ReplicaEjected: its probes or connections failed; no requests until
	// the cool-down is over and a probe passes again.
	ReplicaEjected
	// ReplicaRetiring: discovery no longer finds it; no new requests, and
	// it is forgotten once those in flight are done.
	ReplicaRetiring
)

var replicaStateNames = [...]string{"loading", "ready", "ejected", "retiring"}

func (s ReplicaState) String() string {
	if int(s) < len(replicaStateNames) {
		return replicaStateNames[s]
	}
	return "unknown"
}

// ReplicaStatus is one replica at one instant, as /status shows it.
type ReplicaStatus struct {
	URL   string       `json:"url"`
	State ReplicaState `json:"-"`
	// StateName is State's name: loading, ready, ejected or retiring.
	StateName string `json:"state"`
	// Reason says why State was entered ("3 failed health probes").
	Reason string `json:"reason,omitempty"`
	// Since is when State was entered.
	Since    time.Time `json:"since"`
	InFlight int       `json:"in_flight"`
	// EjectedUntil is when an ejected replica's cool-down ends; a probe
	// that passes after it re-admits the replica.
	EjectedUntil time.Time `json:"ejected_until,omitzero"`
	// Ejections counts the replica's ejections since custos started.
	Ejections int `json:"ejections"`
	// LastProbe is when its last probe ended, and LastProbeError why it
	// failed ("" when it passed).
	LastProbe      time.Time `json:"last_probe,omitzero"`
	LastProbeError string    `json:"last_probe_error,omitempty"`
	// LastReady is when it last became ready; zero if it never has.
	LastReady time.Time `json:"last_ready,omitzero"`
}

// BackendName is the backend a remote model's snapshot names.
const BackendName = "remote"

// aggregate is the model's snapshot made of its replicas': ready while
// one replica is; unhealthy — and so served by the fallback — when every
// replica is ejected, or discovery found none; loading otherwise. It keeps
// prev's times when the state does not change. Pure.
func aggregate(prev supervisor.Snapshot, reps []ReplicaStatus, discovered bool, now time.Time) supervisor.Snapshot {
	s := prev
	s.Backend, s.URL, s.PID = BackendName, "", 0
	ready, ejected, live := 0, 0, 0
	var retryAt time.Time
	lastEjection := ""
	for _, r := range reps {
		switch r.State {
		case ReplicaRetiring:
			continue
		case ReplicaReady:
			ready++
		case ReplicaEjected:
			ejected++
			if retryAt.IsZero() || r.EjectedUntil.Before(retryAt) {
				retryAt = r.EjectedUntil
			}
			lastEjection = r.URL + ": " + r.Reason
		}
		live++
	}
	var state supervisor.State
	reason := ""
	switch {
	case ready > 0:
		state, reason = supervisor.StateReady, "a replica is ready"
	case live == 0 && discovered:
		state, reason = supervisor.StateUnhealthy, "no replica found"
	case live > 0 && ejected == live:
		state, reason = supervisor.StateUnhealthy, "every replica is ejected"
	default:
		state, reason = supervisor.StateLoading, "no replica is ready yet"
	}
	s.RetryAt, s.LastExit = time.Time{}, ""
	if state == supervisor.StateUnhealthy {
		s.RetryAt, s.LastExit = retryAt, lastEjection
		if lastEjection == "" {
			s.LastExit = reason
		}
	}
	if state == supervisor.StateReady {
		s.Progress, s.NotReadySince = 1, time.Time{}
		if prev.State != supervisor.StateReady {
			s.LastReady = now
		}
	} else {
		s.Progress = -1
		if prev.State == supervisor.StateReady || s.NotReadySince.IsZero() {
			s.NotReadySince = now
		}
	}
	if state != prev.State || s.Since.IsZero() {
		s.Since = now
	}
	s.State, s.Reason = state, reason
	return s
}
