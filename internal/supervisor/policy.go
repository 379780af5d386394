package supervisor

import "time"

// maxBackoff caps the exponential restart delay, so a model that failed many
// times is still retried at a human time scale.
const maxBackoff = 30 * time.Second

// restartPolicy holds the pure decisions of the restart budget. It reads no
// clock and starts no timer: the run loop passes "now" in and turns the
// answers into timers, so every rule is table-tested without sleeping.
type restartPolicy struct {
	// backoff is the first restart delay; it doubles with each consecutive failure.
	backoff time.Duration
	// restartMax consecutive failures make the backend unhealthy.
	restartMax int
	// cooldown is how long an unhealthy backend waits before one more try.
	cooldown time.Duration
	// stableAfter is how long a backend must stay ready to be forgiven its
	// earlier failures.
	stableAfter time.Duration
}

// restartPlan is what the run loop does after a failure: wait in state until
// retryAt, then start again.
type restartPlan struct {
	state   State
	retryAt time.Time
}

// backoffDelay is the wait before the restart that follows the failures-th
// consecutive failure: backoff * 2^(failures-1), capped at maxBackoff.
func (p restartPolicy) backoffDelay(failures int) time.Duration {
	if failures < 1 {
		failures = 1
	}
	d := p.backoff
	for i := 1; i < failures; i++ {
		if d >= maxBackoff/2 {
			return maxBackoff
		}
		d *= 2
	}
	return min(d, maxBackoff)
}

// afterFailure plans the next start once failures consecutive failures have
// happened. Reaching restartMax makes the backend unhealthy with one new try
// per cool-down; each try that fails again keeps it there, because the count
// only goes down when a backend stays ready (failuresWhileReady) or an
// operator restarts it.
func (p restartPolicy) afterFailure(failures int, now time.Time) restartPlan {
	if failures >= p.restartMax {
		return restartPlan{state: StateUnhealthy, retryAt: now.Add(p.cooldown)}
	}
	return restartPlan{state: StateBackoff, retryAt: now.Add(p.backoffDelay(failures))}
}

// failuresWhileReady is the consecutive failure count of a backend that has
// been ready for readyFor: a backend that stayed healthy long enough starts
// over with a clean budget, so a crash a day does not add up to unhealthy.
func (p restartPolicy) failuresWhileReady(failures int, readyFor time.Duration) int {
	if readyFor >= p.stableAfter {
		return 0
	}
	return failures
}
