package supervisor

import (
	"time"

	"custos/internal/config"
)

// RetryBudget decides whether a request that failed before any byte
// reached its client is tried again on this backend. It lives here because
// it follows the supervisor's own rules: what a retry waits for is a
// backend that works again, usually a restarted process, so the budget
// allows tries on up to restart_max+2 backend processes, and on one process
// as many tries as its probes need to condemn it (unhealthy_after+1), since
// the supervisor only replaces a live process that fails unhealthy_after
// probes in a row. A process that keeps failing requests while passing its
// probes gets no more tries.
type RetryBudget struct {
	processes   int           // backend processes a request may be tried on
	perProcess  int           // tries on one process
	replacement time.Duration // how long the probes may take to condemn a process

	pid       int // process of the last failed try
	seen      int // distinct processes tried
	triesOnIt int // failed tries on pid
}

// NewRetryBudget is the budget of one request to model m's backend.
func NewRetryBudget(m *config.Model) *RetryBudget {
	return &RetryBudget{
		processes: m.RestartMax + 2, perProcess: max(m.UnhealthyAfter, 1) + 1,
		// A probe already running when a failure was reported counts once.
		replacement: m.HealthInterval*time.Duration(m.UnhealthyAfter) + m.HealthTimeout,
	}
}

// RetryBudget is a fresh budget for one request to this backend.
func (b *Backend) RetryBudget() *RetryBudget { return NewRetryBudget(&b.model) }

// Verdict is what a failed try leaves a request.
type Verdict int

const (
	// TryAgain: another try is allowed now.
	TryAgain Verdict = iota
	// TryOnNewProcess: the tries on this process are spent; a replacement
	// may still be tried, once it exists (wait up to ReplacementWait).
	TryOnNewProcess
	// GiveUp: every try is spent.
	GiveUp
)

// Failed records a failed try on the backend process pid (0 when the
// upstream is not a supervised process) and says what is left.
func (r *RetryBudget) Failed(pid int) Verdict {
	if r.seen == 0 || pid != r.pid {
		r.pid, r.seen, r.triesOnIt = pid, r.seen+1, 0
	}
	r.triesOnIt++
	switch {
	case r.seen >= r.processes:
		return GiveUp
	case r.triesOnIt >= r.perProcess:
		return TryOnNewProcess
	}
	return TryAgain
}

// ReplacementWait is how long the supervisor's regular probes may take to
// condemn, and so replace, a process that fails requests.
func (r *RetryBudget) ReplacementWait() time.Duration { return r.replacement }
