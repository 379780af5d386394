package supervisor

import "time"

// State is where a backend is in its life. Only the backend's own run loop
// changes it; everyone else reads Snapshots.
type State int

const (
	// StateStopped: not running and not about to be (before Run, after Stop).
	StateStopped State = iota
	// StateLoading: the process is running and loading; /health is not 200 yet.
	StateLoading
	// StateReady: /health answered 200 and probes keep passing.
	StateReady
	// StateBackoff: the last start failed or the process died; waiting to restart.
	StateBackoff
	// StateUnhealthy: RestartMax consecutive failures; retried after a cool-down.
	StateUnhealthy
	// StateStopping: SIGTERM sent to the process group (a restart, or
	// custos stopping), waiting for it to exit.
	StateStopping
	// StateUnloaded: no process, and none until the model is loaded; the
	// snapshot's Reason says why (never loaded, idle, evicted, asked).
	StateUnloaded
	// StateUnloading: SIGTERM sent to the process group to unload the model.
	StateUnloading
)

var stateNames = [...]string{"stopped", "loading", "ready", "backoff", "unhealthy", "stopping", "unloaded", "unloading"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Reasons a state is entered for, where the supervisor itself decides.
const (
	ReasonNeverLoaded = "never loaded"
	ReasonStarted     = "started"
	ReasonRestart     = "restart asked"
	ReasonShutdown    = "custos stopping"
	ReasonProbesOK    = "health probe answered 200"
)

// Backend names reported in /health (seed 000).
const (
	BackendNameLlamaServer = "llama-server"
	BackendNameRunner      = "custos-runner"
)

// Snapshot is an immutable copy of a backend's state at one instant.
type Snapshot struct {
	// Model is the model id.
	Model string `json:"model"`
	// Backend is BackendNameLlamaServer, BackendNameRunner, or remote.BackendName for a model on other hosts.
	Backend string `json:"backend"`
	// State is the supervisor's state.
	State State `json:"-"`
	// URL is the backend's base URL (http://127.0.0.1:PORT) while a process runs.
	URL string `json:"url,omitempty"`
	// PID is the backend's process id while it runs.
	PID int `json:"pid,omitempty"`
	// Progress is the load progress in [0,1] reported by the backend, or -1
	// when it reports none; 1 once the backend is ready.
	Progress float64 `json:"progress"`
	// Restarts counts every restart since custos started.
	Restarts int `json:"restarts"`
	// ConsecutiveFailures counts failed starts and crashes since the backend
	// was last stable.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// LastExit says why the previous process ended ("" if none has).
	LastExit string `json:"last_exit,omitempty"`
	// Since is when State was entered.
	Since time.Time `json:"since"`
	// Reason says why State was entered, in a few words ("never loaded",
	// "idle for 5m0s", "asked by admin", "exit status 1").
	Reason string `json:"reason,omitempty"`
	// NotReadySince is when the backend last stopped being ready (or was
	// first started); zero while ready. The gateway compares it with the
	// readiness deadline to decide on the fallback.
	NotReadySince time.Time `json:"not_ready_since,omitzero"`
	// LastReady is when the backend last became ready; zero if it never
	// has since custos started. A backend that has served before and is
	// restarting is recovering, not starting up.
	LastReady time.Time `json:"last_ready,omitzero"`
	// RetryAt is when the next start is planned, in StateBackoff and
	// StateUnhealthy.
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// Status is the seed's status field: ok, starting or unhealthy.
// An unloaded model is ok: it can serve, it loads when a request names it,
// and a readiness probe must not fail because a model idled out.
func (s Snapshot) Status() string {
	switch s.State {
	case StateReady, StateUnloaded:
		return "ok"
	case StateUnhealthy:
		return "unhealthy"
	default:
		return "starting"
	}
}

// WarmUpState is the seed's warm_up_state field: ready, loading or
// unhealthy, and unloaded for a model that loads when asked for.
func (s Snapshot) WarmUpState() string {
	switch s.State {
	case StateReady:
		return "ready"
	case StateUnhealthy:
		return "unhealthy"
	case StateUnloaded:
		return "unloaded"
	default:
		return "loading"
	}
}
