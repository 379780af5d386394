package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"custos/internal/config"
)

// Options are what a Backend or Supervisor needs beside the configuration.
type Options struct {
	// Logger receives the supervisor's and the backends' logs (default slog.Default()).
	Logger *slog.Logger
	// Executable is the custos binary started for runner backends
	// (default: os.Executable()).
	Executable string
	// OnChange, when set, is called from the backend's run loop after every
	// state change with the new snapshot. It must return quickly: the run
	// loop waits for it.
	OnChange func(Snapshot)
	// MaxBodyBytes is the gateway's request body limit, passed to runner
	// backends (0: the runner's default). New sets it from the configuration.
	MaxBodyBytes int64
	// SecretEnv names the variables holding custos's secrets, which no
	// backend inherits. New sets it from the configuration.
	SecretEnv []string
}

// published is one snapshot together with the channel closed when the next
// one replaces it, swapped as one pointer so Watch never misses a change.
type published struct {
	snap    Snapshot
	changed chan struct{}
}

// outcome is how one run of a backend process ended.
type outcome int

const (
	// outcomeFailed: a crash, a failed start or a kill; plan a restart.
	outcomeFailed outcome = iota
	// outcomeRestart: an operator restart stopped it; start again at once.
	outcomeRestart
	// outcomeStopped: Stop or the end of Run's context; do not start again.
	outcomeStopped
	// outcomeUnloaded: the model was unloaded; start again when loaded.
	outcomeUnloaded
)

// desire is whether the model is to be loaded, and why it is not: set by
// Load and Unload, read by the run loop whenever desireCh signals.
type desire struct {
	loaded bool
	reason string
}

// Backend supervises one model's backend process. Its state belongs to the
// goroutine running Run; every other method only reads the published
// snapshot or sends a request to that goroutine, and none of them blocks on
// the backend.
type Backend struct {
	model      config.Model
	policy     restartPolicy
	executable string
	bodyLimit  int64    // Options.MaxBodyBytes
	secrets    []string // Options.SecretEnv
	log        *slog.Logger
	onChange   func(Snapshot)
	logs       *LogRing
	client     *http.Client

	current   atomic.Pointer[published]
	desired   atomic.Pointer[desire]
	desireCh  chan struct{}
	restartCh chan struct{}
	failureCh chan error
	// errorStreak counts consecutive 5xx answers to real requests
	// (ReportAnswer); verifyCh asks the run loop to check the backend
	// with a generation when it reaches UnhealthyAfterErrors.
	errorStreak atomic.Int64
	verifyCh    chan struct{}
	stopCtx     context.Context
	stop        context.CancelFunc
	running     atomic.Bool
	done        chan struct{}

	// Owned by the run loop.
	snap    Snapshot
	started bool
}

// NewBackend prepares the supervision of m; nothing runs until Run.
func NewBackend(m config.Model, opts Options) *Backend {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	executable := opts.Executable
	if executable == "" && m.Backend != config.BackendLlamaServer {
		// An error leaves it empty; every start then fails and says why.
		executable, _ = os.Executable()
	}
	stopCtx, stop := context.WithCancel(context.Background())
	b := &Backend{
		model:      m,
		policy:     restartPolicy{backoff: m.RestartBackoff, restartMax: m.RestartMax, cooldown: m.UnhealthyCooldown, stableAfter: m.StableAfter},
		executable: executable,
		bodyLimit:  opts.MaxBodyBytes,
		secrets:    opts.SecretEnv,
		log:        logger.With("model", m.ID),
		onChange:   opts.OnChange,
		logs:       NewLogRing(m.LogLines),
		client:     newProbeClient(),
		desireCh:   make(chan struct{}, 1),
		restartCh:  make(chan struct{}, 1),
		failureCh:  make(chan error, 1),
		verifyCh:   make(chan struct{}, 1),
		stopCtx:    stopCtx,
		stop:       stop,
		done:       make(chan struct{}),
	}
	b.snap = Snapshot{Model: m.ID, Backend: backendName(m), State: StateStopped, Progress: -1, Since: time.Now()}
	b.desired.Store(&desire{loaded: m.Load != config.LoadOnDemand, reason: ReasonNeverLoaded})
	b.current.Store(&published{snap: b.snap, changed: make(chan struct{})})
	return b
}

// ID is the model id.
func (b *Backend) ID() string { return b.model.ID }

// Snapshot is the backend's state as last published; it takes no lock.
func (b *Backend) Snapshot() Snapshot { return b.current.Load().snap }

// Watch returns the current snapshot and a channel closed at the next state
// change.
func (b *Backend) Watch() (Snapshot, <-chan struct{}) {
	p := b.current.Load()
	return p.snap, p.changed
}

// Logs returns a copy of the backend's last output lines, oldest first.
func (b *Backend) Logs() []string { return b.logs.snapshot() }

// logFollowBuffer is how many new lines a follower of the output may fall
// behind before lines are dropped for it.
const logFollowBuffer = 256

// FollowLogs returns the output lines held (the last log_lines) and a
// subscription to every line printed after them; Close it when done. The
// backend's output pipes never wait for a follower.
func (b *Backend) FollowLogs() ([]LogLine, *LogSubscription) { return b.logs.Follow(logFollowBuffer) }

// ReportFailure tells the backend that a request could not reach it. A
// ready backend is probed at once instead of at the next health interval,
// so a dead backend is noticed by its probes, not by failed requests.
func (b *Backend) ReportFailure(err error) {
	select {
	case b.failureCh <- err:
	default: // a report is already waiting; one probe answers both
	}
}

// Load asks for the model to be loaded: an unloaded backend starts; any
// other carries on. Whoever decides what fits in memory calls it (package
// scheduler); the backend only does it.
func (b *Backend) Load() { b.setDesire(desire{loaded: true}) }

// Unload asks for the model to be unloaded, for reason: its process is
// stopped gracefully and not started again until Load. Requests in flight
// are the caller's to wait for.
func (b *Backend) Unload(reason string) { b.setDesire(desire{reason: reason}) }

func (b *Backend) setDesire(d desire) {
	b.desired.Store(&d)
	select {
	case b.desireCh <- struct{}{}:
	default: // the run loop has a signal waiting; it reads the latest desire
	}
}

// ReportAnswer tells the backend the status of an answer it gave a real
// request. UnhealthyAfterErrors 5xx answers in a row get it checked at
// once with a generation, and restarted if that fails too: a backend that
// answers /health and fails every inference is caught, and one that merely
// refused bad requests is not restarted for them.
func (b *Backend) ReportAnswer(status int) {
	if status < 500 {
		if b.errorStreak.Load() != 0 {
			b.errorStreak.Store(0)
		}
		return
	}
	n := b.model.UnhealthyAfterErrors
	if n > 0 && b.errorStreak.Add(1) >= int64(n) {
		b.errorStreak.Store(0)
		select {
		case b.verifyCh <- struct{}{}:
		default:
		}
	}
}

// Restart asks for the process to be stopped gracefully and started again
// at once, with a fresh failure budget. An unhealthy or backing-off backend
// starts at once; an unloaded one stays unloaded.
func (b *Backend) Restart() {
	select {
	case b.restartCh <- struct{}{}:
	default: // a restart is already pending
	}
}

// Stop stops the backend for good: SIGTERM to its process group, SIGKILL
// after StopTimeout, and waits for Run to return or ctx to end. It may be
// called any number of times, before, during or after Run.
func (b *Backend) Stop(ctx context.Context) error {
	b.stop()
	if !b.running.Load() {
		return nil
	}
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping %s: %w", b.model.ID, ctx.Err())
	}
}

// onOutputLine keeps a line of the backend's output and logs it, with the
// model id, at info level: what a backend says is what an operator reads
// first when it misbehaves. log.level warn silences it.
func (b *Backend) onOutputLine(stream, line string) {
	b.logs.Add(stream, line)
	if rec, ok := parseJSONRecord(line); ok {
		// The record's own attributes go in a group: its keys (a
		// runner's "model" is a path) must not collide with custos's.
		b.log.LogAttrs(context.Background(), rec.level, rec.msg, slog.String("stream", stream), slog.Attr{Key: "backend", Value: slog.GroupValue(rec.attrs...)})
		return
	}
	b.log.Info(line, "stream", stream)
}

// enter moves to state, for reason, and publishes the snapshot.
func (b *Backend) enter(state State, reason string) {
	b.snap.State, b.snap.Since, b.snap.Reason = state, time.Now(), reason
	b.publish()
}

// publish makes the run loop's snapshot visible and wakes every watcher.
// Only the run loop calls it, so the previous channel is closed exactly once.
func (b *Backend) publish() {
	next := &published{snap: b.snap, changed: make(chan struct{})}
	close(b.current.Swap(next).changed)
	if b.onChange != nil {
		b.onChange(next.snap)
	}
}
