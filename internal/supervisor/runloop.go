package supervisor

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"custos/internal/config"
)

// loadProbeInterval is the probe period while a backend loads: short, so
// readiness is noticed within about two periods rather than on a slow tick.
const loadProbeInterval = 10 * time.Millisecond

// tailLines is how many of its last output lines are logged when a backend
// ends unexpectedly.
const tailLines = 10

// Run supervises the backend until Stop is called or ctx ends, then stops
// the process and returns. A second call returns at once.
func (b *Backend) Run(ctx context.Context) {
	if !b.running.CompareAndSwap(false, true) {
		return
	}
	defer close(b.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(b.stopCtx, cancel)()
	// AfterFunc runs cancel in its own goroutine even when Stop came first;
	// cancel now so a stopped backend never starts a process.
	if b.stopCtx.Err() != nil {
		cancel()
	}

loop:
	for ctx.Err() == nil {
		if d := b.desired.Load(); !d.loaded {
			b.snap.RetryAt, b.snap.NotReadySince = time.Time{}, time.Time{}
			b.enter(StateUnloaded, d.reason)
			if !b.waitToLoad(ctx) {
				break loop
			}
		}
		if b.snap.NotReadySince.IsZero() {
			b.snap.NotReadySince = time.Now()
		}
		switch b.runProcess(ctx) {
		case outcomeStopped:
			break loop
		case outcomeFailed:
			if !b.waitToRestart(ctx) {
				break loop
			}
		case outcomeRestart, outcomeUnloaded: // start again at once, or wait to be loaded
		}
	}
	b.snap.RetryAt = time.Time{}
	b.enter(StateStopped, ReasonShutdown)
	b.log.Info("backend stopped", "last_exit", b.snap.LastExit)
}

// waitToLoad waits, unloaded, until the model is to be loaded; it reports
// false when the backend is to stop instead.
func (b *Backend) waitToLoad(ctx context.Context) bool {
	for {
		select {
		case <-b.desireCh:
			if b.desired.Load().loaded {
				b.snap.ConsecutiveFailures = 0 // a load is a fresh start
				return true
			}
		case <-b.restartCh: // nothing runs to restart
		case <-b.failureCh:
		case <-ctx.Done():
			return false
		}
	}
}

// runProcess starts one backend process and supervises it until it ends.
func (b *Backend) runProcess(ctx context.Context) outcome {
	if b.started {
		b.snap.Restarts++
	}
	b.started = true
	port, err := backendPorts.Take(backendHost)
	if err != nil {
		return b.failed("start: "+err.Error(), 0)
	}
	defer backendPorts.Release(port) // the process, and what was left of its group, has been stopped
	url := fmt.Sprintf("http://%s:%d", backendHost, port)
	p, err := startProcess(buildArgv(b.model, b.executable, port, b.bodyLimit), buildEnv(b.model, b.secrets), b.onOutputLine)
	if err != nil {
		return b.failed("start: "+err.Error(), 0)
	}
	b.log.Info("backend started", "pid", p.pid, "url", url)
	b.snap.URL, b.snap.PID, b.snap.Progress, b.snap.RetryAt = url, p.pid, -1, time.Time{}
	b.errorStreak.Store(0) // a new process starts with a clean record
	b.enter(StateLoading, ReasonStarted)
	return b.supervise(ctx, p, url)
}

// supervise is the run loop of one process: fast probes and the stall timer
// while it loads, periodic probes once ready, and requests from other
// goroutines at any time. Probes run in their own goroutine, one at a time,
// so a backend that never answers delays nothing here.
func (b *Backend) supervise(ctx context.Context, p *process, url string) outcome {
	probeCtx, cancelProbes := context.WithCancel(ctx)
	defer cancelProbes()
	defer b.client.CloseIdleConnections()
	results := make(chan probeResult, 1)
	probing := false
	verifying := false     // the probe running checks a streak of 5xx answers
	verifyPending := false // a streak to check once the probe running is done
	embeddings := hasFlag(append(append([]string(nil), b.model.Cmd...), b.model.Args...), "--embeddings", "--embedding")
	probe := func(generate bool) {
		if probing {
			return
		}
		probing = true
		go func() {
			if generate {
				results <- probeGeneration(probeCtx, b.client, url, b.model.HealthTimeout, embeddings)
			} else {
				results <- probeHealth(probeCtx, b.client, url, b.model.HealthTimeout)
			}
		}()
	}
	// Once ready, the regular probe is the configured one; while loading
	// it is always /health, which reports load progress.
	regular := func() bool { return b.snap.State == StateReady && b.model.HealthCheck == config.HealthCheckGenerate }

	nextProbe := time.NewTimer(0)
	defer nextProbe.Stop()
	stall := time.NewTimer(b.model.ReadyTimeout)
	defer stall.Stop()
	stable := time.NewTimer(0)
	stable.Stop()
	defer stable.Stop()
	var readyAt time.Time
	failedProbes := 0

	for {
		select {
		case err := <-p.exited:
			return b.ended(p, exitReason(err), readyAt)
		case <-ctx.Done():
			b.stopProcess(p, StateStopping, ReasonShutdown)
			return outcomeStopped
		case <-b.desireCh:
			if d := b.desired.Load(); !d.loaded {
				b.log.Info("unloading", "reason", d.reason)
				b.stopProcess(p, StateUnloading, d.reason)
				return outcomeUnloaded
			}
		case <-b.restartCh:
			b.log.Info("restart requested")
			b.stopProcess(p, StateStopping, ReasonRestart)
			b.snap.ConsecutiveFailures = 0
			return outcomeRestart
		case err := <-b.failureCh:
			if b.snap.State == StateReady {
				b.log.Debug("request failed, probing now", "err", err)
				probe(regular())
			}
		case <-b.verifyCh:
			if b.snap.State != StateReady {
				continue
			}
			if probing {
				verifyPending = true
				continue
			}
			b.log.Warn("consecutive 5xx answers to requests; checking with a generation", "errors", b.model.UnhealthyAfterErrors)
			verifying = true
			probe(true)
		case <-nextProbe.C:
			probe(regular())
		case r := <-results:
			probing = false
			if verifying {
				verifying = false
				if !r.ok {
					b.kill(p)
					return b.ended(p, fmt.Sprintf("killed: %d consecutive 5xx answers and a failed %v", b.model.UnhealthyAfterErrors, r.err), readyAt)
				}
			}
			if verifyPending && b.snap.State == StateReady {
				verifyPending, verifying = false, true
				probe(true)
				continue
			}
			if b.snap.State == StateLoading {
				if r.ok {
					readyAt = time.Now()
					stall.Stop()
					stable.Reset(b.model.StableAfter)
					loadTime := readyAt.Sub(b.snap.Since)
					b.snap.Progress, b.snap.NotReadySince, b.snap.LastReady = 1, time.Time{}, readyAt
					b.enter(StateReady, ReasonProbesOK)
					b.log.Info("backend ready", "pid", p.pid, "load_time", loadTime.Round(time.Millisecond).String())
					nextProbe.Reset(b.model.HealthInterval)
					continue
				}
				if r.progress >= 0 && r.progress != b.snap.Progress {
					b.snap.Progress = r.progress
					stall.Reset(b.model.ReadyTimeout)
					b.publish()
				}
				nextProbe.Reset(loadProbeInterval)
				continue
			}
			if r.ok {
				failedProbes = 0
			} else {
				failedProbes++
				b.log.Warn("health probe failed", "err", r.err, "failed_probes", failedProbes)
				if failedProbes >= b.model.UnhealthyAfter {
					b.kill(p)
					return b.ended(p, fmt.Sprintf("killed: %d failed health probes", failedProbes), readyAt)
				}
			}
			nextProbe.Reset(b.model.HealthInterval)
		case <-stall.C:
			b.kill(p)
			return b.ended(p, fmt.Sprintf("killed: no load progress for %v", b.model.ReadyTimeout), readyAt)
		case <-stable.C:
			if n := b.policy.failuresWhileReady(b.snap.ConsecutiveFailures, time.Since(readyAt)); n != b.snap.ConsecutiveFailures {
				b.snap.ConsecutiveFailures = n
				b.publish()
			}
		}
	}
}

// ended handles a process that ended without being asked to: whatever is
// left of its group is killed, its last output lines are logged, and the
// failure is counted.
func (b *Backend) ended(p *process, reason string, readyAt time.Time) outcome {
	if err := p.signalGroup(syscall.SIGKILL); err != nil {
		b.log.Warn("killing the rest of the process group", "pid", p.pid, "err", err)
	}
	go b.logTail(p, reason)
	readyFor := time.Duration(0)
	if !readyAt.IsZero() {
		readyFor = time.Since(readyAt)
	}
	return b.failed(reason, readyFor)
}

// logTail logs the last output lines of a process that ended unexpectedly,
// once its output is fully read (bounded, in case an escaped child keeps
// the pipe open).
func (b *Backend) logTail(p *process, reason string) {
	select {
	case <-p.outputDone:
	case <-time.After(2 * time.Second):
	}
	b.log.Warn("backend ended unexpectedly", "pid", p.pid, "reason", reason, "last_lines", b.logs.last(tailLines))
}

// failed counts a failure of a process that was ready for readyFor (0 if it
// never was) and plans the next start.
func (b *Backend) failed(reason string, readyFor time.Duration) outcome {
	now := time.Now()
	s := &b.snap
	if s.State == StateReady {
		s.NotReadySince = now
		s.ConsecutiveFailures = b.policy.failuresWhileReady(s.ConsecutiveFailures, readyFor)
	}
	s.ConsecutiveFailures++
	plan := b.policy.afterFailure(s.ConsecutiveFailures, now)
	s.LastExit, s.URL, s.PID, s.Progress, s.RetryAt = reason, "", 0, -1, plan.retryAt
	b.enter(plan.state, reason)
	if plan.state == StateUnhealthy {
		b.log.Error("backend unhealthy", "reason", reason, "consecutive_failures", s.ConsecutiveFailures, "retry_at", plan.retryAt)
	} else {
		b.log.Warn("backend failed, restarting", "reason", reason, "consecutive_failures", s.ConsecutiveFailures, "retry_at", plan.retryAt)
	}
	return outcomeFailed
}

// waitToRestart waits until the planned restart time, or less on Restart.
// It reports false when the backend is to stop instead.
func (b *Backend) waitToRestart(ctx context.Context) bool {
	t := time.NewTimer(time.Until(b.snap.RetryAt))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-b.restartCh:
			b.log.Info("restart requested")
			b.snap.ConsecutiveFailures = 0
			return true
		case <-b.failureCh:
			// Nothing runs to probe; the planned start stands.
		case <-b.desireCh:
			if !b.desired.Load().loaded {
				return true // the run loop unloads it
			}
		case <-ctx.Done():
			return false
		}
	}
}

// kill ends the whole process group at once and waits for the leader.
func (b *Backend) kill(p *process) {
	if err := p.signalGroup(syscall.SIGKILL); err != nil {
		b.log.Error("killing backend", "pid", p.pid, "err", err)
	}
	<-p.exited
}

// stopProcess stops the process gracefully, in state (StateStopping or
// StateUnloading) for reason: SIGTERM to the group, SIGKILL after
// StopTimeout, then SIGKILL to whatever of the group outlived the leader.
func (b *Backend) stopProcess(p *process, state State, reason string) {
	if b.snap.State == StateReady {
		b.snap.NotReadySince = time.Now()
	}
	b.enter(state, reason)
	if err := p.signalGroup(syscall.SIGTERM); err != nil {
		b.log.Error("stopping backend", "pid", p.pid, "err", err)
	}
	grace := time.NewTimer(b.model.StopTimeout)
	defer grace.Stop()
	var err error
	select {
	case err = <-p.exited:
	case <-grace.C:
		b.log.Warn("backend ignored SIGTERM, killing it", "pid", p.pid, "stop_timeout", b.model.StopTimeout)
		if kerr := p.signalGroup(syscall.SIGKILL); kerr != nil {
			b.log.Error("killing backend", "pid", p.pid, "err", kerr)
		}
		err = <-p.exited
	}
	if kerr := p.signalGroup(syscall.SIGKILL); kerr != nil {
		b.log.Warn("killing the rest of the process group", "pid", p.pid, "err", kerr)
	}
	b.snap.LastExit, b.snap.URL, b.snap.PID, b.snap.Progress = exitReason(err), "", 0, -1
}
