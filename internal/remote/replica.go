package remote

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"custos/internal/config"
	"custos/internal/supervisor"
)

// loadProbeInterval is the probe period of a replica that is not ready
// yet: short enough to notice readiness within a tenth of a second, long
// enough not to flood a host across the network while it loads (a local
// backend is probed every 10 ms).
const loadProbeInterval = 100 * time.Millisecond

// Replica is one upstream server of a remote model. Its state belongs to
// its own goroutine (run); the gateway's goroutines only count their
// requests on it (inFlight), read its published status, and send it
// reports on channels that never block.
type Replica struct {
	url    string
	model  *config.Model
	header http.Header // the upstream's key, on probes as on requests
	client *http.Client
	log    *slog.Logger
	// changed pokes the pool when the status changes.
	changed func()
	// onEject runs at each ejection (nil: nothing).
	onEject func()

	inFlight atomic.Int64
	status   atomic.Pointer[ReplicaStatus]
	// attempts is cancelled when the replica is ejected: requests still
	// waiting for its answer are abandoned, as those of a local backend
	// end when it is killed for the same failure, and are retried on
	// another replica if nothing reached their client.
	attempts atomic.Pointer[attemptScope]
	retiring atomic.Bool

	failureCh chan error
	verifyCh  chan struct{}
	readmitCh chan struct{}
	ejectCh   chan error
	// errorStreak counts consecutive 5xx answers to requests, and
	// failedStreak requests in a row that got no answer from it.
	errorStreak  atomic.Int64
	failedStreak atomic.Int64

	// Owned by run.
	st ReplicaStatus
}

// attemptScope is the context the attempts sent to one replica between
// two of its ejections share.
type attemptScope struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newReplica(url string, m *config.Model, header http.Header, probes *http.Client, log *slog.Logger, changed func()) *Replica {
	r := &Replica{
		url: url, model: m, header: header, client: probes, log: log.With("replica", url), changed: changed,
		failureCh: make(chan error, 1), verifyCh: make(chan struct{}, 1), readmitCh: make(chan struct{}, 1), ejectCh: make(chan error, 1),
	}
	r.st = ReplicaStatus{URL: url, State: ReplicaLoading, StateName: ReplicaLoading.String(), Reason: "not probed yet", Since: time.Now()}
	r.newScope()
	r.publish()
	return r
}

func (r *Replica) newScope() {
	ctx, cancel := context.WithCancel(context.Background())
	r.attempts.Store(&attemptScope{ctx: ctx, cancel: cancel})
}

// URL is the replica's base URL.
func (r *Replica) URL() string { return r.url }

// Context ends when the replica is ejected.
func (r *Replica) Context() context.Context { return r.attempts.Load().ctx }

// Done ends one attempt on the replica: err says why it failed before
// its answer was passed on (status is then the refusing answer's, or 0),
// and status otherwise is the answer's (0: none, the client left). A
// failure gets the replica probed at once, and unhealthy_after failures
// in a row eject it even while its probes pass (requests are what it is
// for); unhealthy_after_errors 5xx answers in a row get it checked with a
// generation, as a local backend's.
func (r *Replica) Done(status int, err error) {
	r.inFlight.Add(-1)
	switch {
	case err != nil:
		if r.failedStreak.Add(1) >= int64(r.model.UnhealthyAfter) {
			r.failedStreak.Store(0)
			select {
			case r.ejectCh <- err:
			default:
			}
		}
		select {
		case r.failureCh <- err:
		default:
		}
	case status == 0:
	case status < 500:
		if r.failedStreak.Load() != 0 {
			r.failedStreak.Store(0)
		}
		if r.errorStreak.Load() != 0 {
			r.errorStreak.Store(0)
		}
	default:
		if r.failedStreak.Load() != 0 {
			r.failedStreak.Store(0)
		}
		if n := r.model.UnhealthyAfterErrors; n > 0 && r.errorStreak.Add(1) >= int64(n) {
			r.errorStreak.Store(0)
			select {
			case r.verifyCh <- struct{}{}:
			default:
			}
		}
	}
	if r.retiring.Load() {
		r.changed() // the pool forgets it once none is in flight
	}
}

// Status is the replica's state as last published, with its traffic now.
func (r *Replica) Status() ReplicaStatus {
	s := *r.status.Load()
	s.InFlight = int(r.inFlight.Load())
	if r.retiring.Load() {
		s.State, s.StateName, s.Reason = ReplicaRetiring, ReplicaRetiring.String(), "no longer discovered"
	}
	return s
}

// readmit ends an ejection now and probes (an operator's restart).
func (r *Replica) readmit() {
	select {
	case r.readmitCh <- struct{}{}:
	default:
	}
}

func (r *Replica) publish() {
	s := r.st
	r.status.Store(&s)
	if r.changed != nil {
		r.changed()
	}
}

func (r *Replica) enter(state ReplicaState, reason string) {
	r.st.State, r.st.StateName, r.st.Reason, r.st.Since = state, state.String(), reason, time.Now()
	if state == ReplicaReady {
		r.st.LastReady, r.st.EjectedUntil = r.st.Since, time.Time{}
	}
	r.publish()
}

// probeKind is which probe the replica gets now.
type probeKind int

const (
	probeRegular  probeKind = iota // the configured health_check
	probeGenerate                  // a one-token chat completion
)

// check is the health_check a probe of kind uses now. While not ready, a
// generation would cost tokens on a server that cannot give them: the
// replica is probed on /health until ready, as a local backend is. Only
// run calls it (it reads the state).
func (r *Replica) check(kind probeKind) string {
	switch {
	case kind == probeGenerate:
		return config.HealthCheckGenerate
	case r.model.HealthCheck == config.HealthCheckGenerate && r.st.State != ReplicaReady:
		return config.HealthCheckHealth
	}
	return r.model.HealthCheck
}

// probe asks the replica once, as check says, within health_timeout.
func (r *Replica) probe(ctx context.Context, check string) supervisor.ProbeOutcome {
	timeout := r.model.HealthTimeout
	switch check {
	case config.HealthCheckModels:
		return supervisor.ProbeGet(ctx, r.client, r.url+"/v1/models", r.header, timeout)
	case config.HealthCheckGenerate:
		return supervisor.ProbeChat(ctx, r.client, r.url, r.model.Remote.UpstreamModel, r.header, timeout)
	}
	return supervisor.ProbeGet(ctx, r.client, r.url+"/health", r.header, timeout)
}

// run owns the replica until ctx ends: it probes, admits and ejects.
//
// The rules are a local backend's, with ejection in place of restart: a
// ready replica that fails unhealthy_after probes in a row (a probe that
// times out after health_timeout is a hang), or whose generation check
// fails after a streak of 5xx answers, is ejected for eject_cooldown; so
// is a loading one that cannot be reached unhealthy_after times in a row
// or reports no load progress for ready_timeout, and a ready one that
// unhealthy_after requests in a row could not reach. An ejected replica is
// probed every health_interval, and the first probe that passes after the
// cool-down re-admits it. A failed request gets the replica probed at
// once, so a dead host is ejected by its probes within moments of the
// first request that found it dead.
func (r *Replica) run(ctx context.Context) {
	defer r.client.CloseIdleConnections()
	defer func() { r.attempts.Load().cancel() }()
	results := make(chan struct {
		supervisor.ProbeOutcome
		kind probeKind
	}, 1)
	probing := false
	start := func(kind probeKind) {
		if probing {
			return
		}
		probing = true
		check := r.check(kind)
		go func() {
			o := r.probe(ctx, check)
			results <- struct {
				supervisor.ProbeOutcome
				kind probeKind
			}{o, kind}
		}()
	}
	next := time.NewTimer(0)
	defer next.Stop()
	stall := time.NewTimer(r.model.ReadyTimeout)
	defer stall.Stop()
	failed := 0
	progress := -1.0
	verifyPending := false // a streak of 5xx to check once the probe running is done

	for {
		select {
		case <-ctx.Done():
			return
		case <-r.failureCh:
			if r.st.State != ReplicaEjected {
				start(probeRegular)
			}
		case err := <-r.ejectCh:
			if r.st.State == ReplicaReady {
				r.eject(fmt.Sprintf("%d requests in a row failed: %v", r.model.UnhealthyAfter, err))
				failed = 0
				next.Reset(r.model.HealthInterval)
			}
		case <-r.verifyCh:
			if r.st.State != ReplicaReady {
				continue
			}
			if probing {
				verifyPending = true
				continue
			}
			r.log.Warn("consecutive 5xx answers; checking the replica with a generation", "errors", r.model.UnhealthyAfterErrors)
			start(probeGenerate)
		case <-r.readmitCh:
			if r.st.State == ReplicaEjected {
				r.st.EjectedUntil = time.Now()
				start(probeRegular)
			}
		case <-next.C:
			start(probeRegular)
		case <-stall.C:
			if r.st.State == ReplicaLoading {
				r.eject(fmt.Sprintf("no load progress for %v", r.model.ReadyTimeout))
				failed = 0
				next.Reset(r.model.HealthInterval)
			}
		case res := <-results:
			probing = false
			now := time.Now()
			r.st.LastProbe, r.st.LastProbeError = now, ""
			if res.Err != nil {
				r.st.LastProbeError = res.Err.Error()
			}
			switch r.st.State {
			case ReplicaReady:
				switch {
				case res.OK:
					failed = 0
				case res.kind == probeGenerate:
					r.eject(fmt.Sprintf("%d consecutive 5xx answers and a failed %v", r.model.UnhealthyAfterErrors, res.Err))
					failed = 0
				default:
					failed++
					r.log.Warn("replica probe failed", "err", res.Err, "failed_probes", failed)
					if failed >= r.model.UnhealthyAfter {
						r.eject(fmt.Sprintf("%d failed probes: %v", failed, res.Err))
						failed = 0
					}
				}
				if r.st.State == ReplicaReady {
					r.publish()
				}
				next.Reset(r.model.HealthInterval)
				if verifyPending {
					verifyPending = false
					if r.st.State == ReplicaReady {
						start(probeGenerate)
					}
				}
			case ReplicaLoading:
				switch {
				case res.OK:
					failed = 0
					stall.Stop()
					r.enter(ReplicaReady, "probe passed")
					r.log.Info("replica ready")
					next.Reset(r.model.HealthInterval)
					continue
				case res.Status == 0:
					// Not reached at all: a host that is down is
					// ejected, not waited for as if it were loading.
					failed++
					if failed >= r.model.UnhealthyAfter {
						r.eject(fmt.Sprintf("%d failed probes: %v", failed, res.Err))
						failed = 0
						next.Reset(r.model.HealthInterval)
						continue
					}
				default: // it answered: alive, and loading
					failed = 0
					if res.Progress >= 0 && res.Progress != progress {
						progress = res.Progress
						stall.Reset(r.model.ReadyTimeout)
					}
				}
				r.publish()
				next.Reset(loadProbeInterval)
			case ReplicaEjected:
				if res.OK && !now.Before(r.st.EjectedUntil) {
					r.enter(ReplicaReady, "re-admitted: probe passed after the cool-down")
					r.log.Info("replica re-admitted")
				} else {
					r.publish()
				}
				next.Reset(r.model.HealthInterval)
			}
		}
	}
}

// eject takes the replica out of the rotation for eject_cooldown and
// abandons the attempts still waiting on it.
func (r *Replica) eject(reason string) {
	old := r.attempts.Load()
	r.newScope()
	old.cancel()
	if r.onEject != nil {
		r.onEject()
	}
	r.st.Ejections++
	r.st.EjectedUntil = time.Now().Add(r.model.Remote.EjectCooldown)
	r.enter(ReplicaEjected, reason)
	r.log.Warn("replica ejected", "reason", reason, "until", r.st.EjectedUntil)
}
