package gateway

import "custos/internal/config"

// retryBudget decides whether a request that failed before any byte
// reached its client is tried again. What a retry waits for is a backend
// that works again, usually a restarted process: the budget allows tries
// on up to restart_max+2 backend processes, and on one process as many
// tries as its probes need to condemn it (unhealthy_after+1), since the
// supervisor only replaces a live process that fails unhealthy_after
// probes in a row. A process that keeps failing requests while passing
// its probes gets no more tries.
type retryBudget struct {
	processes  int // backend processes a request may be tried on
	perProcess int // tries on one process

	pid       int // process of the last failed try
	seen      int // distinct processes tried
	triesOnIt int // failed tries on pid
}

func newRetryBudget(m *config.Model) retryBudget {
	return retryBudget{processes: m.RestartMax + 2, perProcess: max(m.UnhealthyAfter, 1) + 1}
}

// verdict is what a failed try leaves a request.
type verdict int

const (
	tryAgain        verdict = iota // another try is allowed now
	tryOnNewProcess                // the tries on this process are spent; a replacement may still be tried
	giveUp                         // every try is spent
)

// failed records a failed try on the backend process pid (0 when the
// upstream is not a supervised process) and says what is left.
func (b *retryBudget) failed(pid int) verdict {
	if b.seen == 0 || pid != b.pid {
		b.pid, b.seen, b.triesOnIt = pid, b.seen+1, 0
	}
	b.triesOnIt++
	switch {
	case b.seen >= b.processes:
		return giveUp
	case b.triesOnIt >= b.perProcess:
		return tryOnNewProcess
	}
	return tryAgain
}
