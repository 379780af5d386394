package intervention

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var bg = context.Background()

// receive waits up to 10 s for a value from ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out after 10s waiting for %s", what)
	}
	var zero T
	return zero
}

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func defaults() Config {
	return Config{Enabled: true, MaxPause: 300 * time.Second, WaitTimeout: 60 * time.Second}
}

// memJournal records what it is given; fail makes it refuse.
type memJournal struct {
	mu     sync.Mutex
	events []Event
	writes int
	last   State
	fail   bool
}

func (j *memJournal) Record(st State, events ...Event) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail {
		return errors.New("disk full")
	}
	j.events = append(j.events, events...)
	j.writes++
	j.last = st.clone()
	return nil
}

func (j *memJournal) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.events)
}

func TestDefaultNotPaused(t *testing.T) {
	c := New(defaults(), nil, State{}, quiet)
	if c.Paused() {
		t.Fatal("a new controller must not be paused")
	}
	if err := c.Wait(context.Background(), "tiny", Hold{}); err != nil {
		t.Fatal(err)
	}
}

func TestManualPauseResumeIsIdempotentAndJournaled(t *testing.T) {
	j := &memJournal{}
	c := New(defaults(), j, State{}, quiet)
	r, _ := c.Pause(bg, GlobalScope, "maintenance", ActorAdmin)
	if !r.Changed || !r.Durable || !c.Paused() {
		t.Fatalf("pause: %+v", r)
	}
	if r, _ := c.Pause(bg, GlobalScope, "again", ActorAdmin); r.Changed || r.State.Global.Reason != "maintenance" {
		t.Fatalf("a second pause must change nothing: %+v", r)
	}
	if r, _ := c.Resume(bg, GlobalScope, ActorCLI); !r.Changed || c.Paused() {
		t.Fatalf("resume: %+v", r)
	}
	if r, _ := c.Resume(bg, GlobalScope, ActorCLI); r.Changed {
		t.Fatal("a second resume must change nothing")
	}
	if j.count() != 2 || j.events[0].Action != "pause" || j.events[1].Actor != ActorCLI || j.events[0].Reason != "maintenance" {
		t.Fatalf("journal: %+v", j.events)
	}
}

func TestAutoPauseOnDistressedAndResumeOnHealthy(t *testing.T) {
	cfg := defaults()
	cfg.PauseOnDistressed = true
	c := New(cfg, nil, State{}, quiet)
	_, _ = c.UpdateWellbeing(bg, Distressed, "", "test")
	if !c.Paused() {
		t.Fatal("distressed must pause")
	}
	_, _ = c.UpdateWellbeing(bg, Healthy, "", "test")
	if c.Paused() {
		t.Fatal("healthy must resume")
	}
	m := c.Counters()
	if m.PausesTotal != 1 || m.ResumesTotal != 1 || m.InterventionsTotal < 2 {
		t.Fatalf("counters: %+v", m)
	}
}

func TestObserveOnlyByDefault(t *testing.T) {
	c := New(defaults(), nil, State{}, quiet)
	_, _ = c.UpdateWellbeing(bg, Distressed, "bad day", "test")
	if c.Paused() || c.State().Wellbeing != Distressed {
		t.Fatal("by default wellbeing is recorded but does not pause")
	}
}

func TestWellbeingDoesNotEndAnOperatorsPause(t *testing.T) {
	cfg := defaults()
	cfg.PauseOnDistressed = true
	c := New(cfg, nil, State{}, quiet)
	_, _ = c.Pause(bg, GlobalScope, "operator", ActorAdmin)
	_, _ = c.UpdateWellbeing(bg, Healthy, "fine", "test")
	if !c.Paused() {
		t.Fatal("an operator's pause must hold until resumed")
	}
}

func TestWaitersReleasedOnResume(t *testing.T) {
	c := New(defaults(), nil, State{}, quiet)
	_, _ = c.Pause(bg, GlobalScope, "hold", ActorAdmin)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Wait(context.Background(), "tiny", Hold{}); err != nil {
				t.Error(err)
			}
		}()
		waitUntil(t, fmt.Sprintf("%d requests held", i+1), func() bool { return c.Counters().RequestsWaiting == int64(i+1) })
	}
	_, _ = c.Resume(bg, GlobalScope, ActorAdmin)
	wg.Wait()
	if m := c.Counters(); m.RequestsWaited != n || m.RequestsBlocked != n || m.RequestsWaiting != 0 {
		t.Fatalf("counters: %+v", m)
	}
}

func TestModelPauseHoldsOnlyThatModel(t *testing.T) {
	c := New(defaults(), nil, State{}, quiet)
	_, _ = c.Pause(bg, "big", "reload", ActorAdmin)
	if err := c.Wait(context.Background(), "tiny", Hold{}); err != nil {
		t.Fatalf("another model must pass: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait(context.Background(), "big", Hold{}) }()
	waitUntil(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == 1 })
	_, _ = c.Resume(bg, "big", ActorAdmin)
	if err := receive(t, done, "the held request to return"); err != nil {
		t.Fatal(err)
	}
}

func TestWaitTimeoutGivesPausedError(t *testing.T) {
	cfg := defaults()
	cfg.WaitTimeout = 20 * time.Millisecond
	c := New(cfg, nil, State{}, quiet)
	_, _ = c.Pause(bg, GlobalScope, "investigating", ActorAdmin)
	err := c.Wait(context.Background(), "tiny", Hold{})
	var pe *PausedError
	if !errors.As(err, &pe) || pe.Reason != "investigating" || pe.RetryAfter < time.Second {
		t.Fatalf("got %v", err)
	}
	if m := c.Counters(); m.RequestsTimedOut != 1 || m.RequestsWaiting != 0 {
		t.Fatalf("counters: %+v", m)
	}
}

func TestClientGoneLeavesTheQueue(t *testing.T) {
	c := New(defaults(), nil, State{}, quiet)
	_, _ = c.Pause(bg, GlobalScope, "hold", ActorAdmin)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx, "tiny", Hold{}) }()
	waitUntil(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == 1 })
	cancel()
	if err := receive(t, done, "the held request to return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if c.Counters().RequestsWaiting != 0 {
		t.Fatal("a gone client still counts as waiting")
	}
}

func TestMaxPauseResumesByTimerWithoutTraffic(t *testing.T) {
	cfg := defaults()
	cfg.MaxPause = 30 * time.Millisecond
	j := &memJournal{}
	c := New(cfg, j, State{}, quiet)
	_, _ = c.Pause(bg, GlobalScope, "short", ActorAdmin)
	deadline := time.Now().Add(10 * time.Second)
	for c.Paused() {
		if time.Now().After(deadline) {
			t.Fatal("the max_pause timer never resumed")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if j.count() != 2 || j.events[1].Actor != ActorTimer {
		t.Fatalf("journal: %+v", j.events)
	}
}

func TestRestoredPauseKeepsOnlyItsRemainingTime(t *testing.T) {
	cfg := defaults()
	cfg.MaxPause = time.Hour
	expired := State{Global: &Pause{Reason: "old", Since: time.Now().Add(-2 * time.Hour), By: ActorAdmin}}
	c := New(cfg, nil, expired, quiet)
	deadline := time.Now().Add(10 * time.Second)
	for c.Paused() {
		if time.Now().After(deadline) {
			t.Fatal("a pause restored past max_pause must end at once")
		}
		time.Sleep(2 * time.Millisecond)
	}
	fresh := State{Global: &Pause{Reason: "recent", Since: time.Now().Add(-time.Minute), By: ActorAdmin}}
	c2 := New(cfg, nil, fresh, quiet)
	defer c2.Close()
	if !c2.Paused() || c2.State().Global.Reason != "recent" {
		t.Fatal("a pause restored within max_pause must hold")
	}
}

func TestJournalFailureKeepsServingInMemory(t *testing.T) {
	j := &memJournal{fail: true}
	c := New(defaults(), j, State{}, quiet)
	r, err := c.Pause(bg, GlobalScope, "x", ActorAdmin)
	if err != nil || !r.Changed || r.Durable || !c.Paused() {
		t.Fatalf("got %+v, %v", r, err)
	}
}

func TestDisabledMeansNoGating(t *testing.T) {
	c := New(Config{MaxPause: time.Minute, WaitTimeout: time.Minute}, nil, State{}, quiet)
	if _, err := c.Pause(bg, GlobalScope, "x", ActorAdmin); !errors.Is(err, ErrDisabled) {
		t.Fatalf("got %v", err)
	}
	if err := c.Wait(context.Background(), "tiny", Hold{}); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentStormCountersAddUp(t *testing.T) {
	cfg := defaults()
	cfg.PauseOnDistressed = true
	cfg.WaitTimeout = 50 * time.Millisecond
	j := &memJournal{}
	c := New(cfg, j, State{}, quiet)
	defer c.Close()
	var wg sync.WaitGroup
	const workers, rounds = 8, 200
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range rounds {
				switch (w + i) % 4 {
				case 0:
					_, _ = c.Pause(bg, GlobalScope, "storm", ActorAdmin)
				case 1:
					_, _ = c.Resume(bg, GlobalScope, ActorAdmin)
				case 2:
					_, _ = c.UpdateWellbeing(bg, Distressed, "", "test")
				case 3:
					_, _ = c.UpdateWellbeing(bg, Healthy, "", "test")
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range rounds {
				_ = c.Wait(context.Background(), "tiny", Hold{})
			}
		}()
	}
	wg.Wait()
	_, _ = c.Resume(bg, GlobalScope, ActorAdmin)
	m := c.Counters()
	if m.RequestsBlocked != m.RequestsWaited+m.RequestsTimedOut || m.RequestsWaiting != 0 {
		t.Fatalf("blocked %d != waited %d + timed out %d (waiting %d)", m.RequestsBlocked, m.RequestsWaited, m.RequestsTimedOut, m.RequestsWaiting)
	}
	if m.PausesTotal < m.ResumesTotal || m.PausesTotal-m.ResumesTotal > 1 {
		t.Fatalf("pauses %d and resumes %d do not pair up", m.PausesTotal, m.ResumesTotal)
	}
	if uint64(j.count()) != m.InterventionsTotal {
		t.Fatalf("journal holds %d events, counters say %d interventions", j.count(), m.InterventionsTotal)
	}
}

// Until the control state is read back, requests and changes wait: a
// custos paused before its restart must not serve, and a change made
// before the state is read back would be overwritten by it.
func TestRestoringHoldsRequestsUntilTheStateIsKnown(t *testing.T) {
	c := NewRestoring(defaults(), nil, quiet)
	defer c.Close()
	if !c.Blocks("tiny") || !c.Restoring() {
		t.Fatal("a restoring controller must hold requests")
	}
	done := make(chan error, 2)
	go func() { done <- c.Wait(context.Background(), "tiny", Hold{}) }()
	go func() { done <- c.Wait(context.Background(), "other", Hold{}) }()
	waitUntil(t, "both requests to be held", func() bool { return c.Counters().RequestsWaiting == 2 })
	paused := make(chan error, 1)
	go func() { _, err := c.Pause(bg, "tiny", "sent during the restore", ActorCLI); paused <- err }()

	c.Restore(State{Models: map[string]*Pause{"other": {Reason: "kept", Since: time.Now(), By: ActorAdmin}}})
	if err := receive(t, paused, "the pause to return"); err != nil {
		t.Fatalf("a change sent while restoring: %v", err)
	}
	st := c.State()
	if st.Models["other"] == nil || st.Models["tiny"] == nil || st.Models["tiny"].Reason != "sent during the restore" {
		t.Fatalf("the change must apply on top of the restored state: %+v", st)
	}
	if _, err := c.Resume(bg, "tiny", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if err := receive(t, done, "the held request to return"); err != nil {
		t.Fatalf("the request for tiny: %v", err)
	}
	if c.Counters().RequestsWaiting != 1 || !c.Blocks("other") {
		t.Fatalf("the restored pause of `other` must keep holding its request: %+v", c.Counters())
	}
	if _, err := c.Resume(bg, "other", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if err := receive(t, done, "the held request to return"); err != nil {
		t.Fatalf("resumed: %v", err)
	}
}

// A change that cannot wait any longer for the restore is refused, and
// never applied later: its client was told it was not.
func TestChangeGivingUpOnTheRestoreIsNeverAppliedLater(t *testing.T) {
	c := NewRestoring(defaults(), nil, quiet)
	defer c.Close()
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if _, err := c.Pause(ctx, GlobalScope, "sent too early", ActorCLI); !errors.Is(err, ErrRestoring) {
		t.Fatalf("got %v, want ErrRestoring", err)
	}
	c.Restore(State{})
	if c.Paused() {
		t.Fatal("a change refused while restoring was applied after the restore")
	}
}

// A request held while restoring that outlasts wait_timeout gets the
// paused error with the reason, like any held request.
func TestRestoringTooLongTimesOut(t *testing.T) {
	cfg := defaults()
	cfg.WaitTimeout = 10 * time.Millisecond
	c := NewRestoring(cfg, nil, quiet)
	defer c.Close()
	var pe *PausedError
	if err := c.Wait(context.Background(), "tiny", Hold{}); !errors.As(err, &pe) || !strings.Contains(pe.Reason, "control state") {
		t.Fatalf("got %v", err)
	}
}

// A worse wellbeing report must never lift a pause a better one imposed:
// with only pause_on_concerned set, distressed keeps the pause.
func TestDistressedKeepsThePauseThatConcernedImposed(t *testing.T) {
	cfg := defaults()
	cfg.PauseOnConcerned = true
	c := New(cfg, nil, State{}, quiet)
	defer c.Close()
	_, _ = c.UpdateWellbeing(bg, Concerned, "", "test")
	if !c.Paused() {
		t.Fatal("concerned must pause with pause_on_concerned")
	}
	_, _ = c.UpdateWellbeing(bg, Distressed, "", "test")
	if !c.Paused() {
		t.Fatal("distressed lifted the pause that concerned imposed")
	}
	_, _ = c.UpdateWellbeing(bg, Cautious, "", "test")
	if c.Paused() {
		t.Fatal("cautious must end the policy pause")
	}
}

// blockingJournal holds every Record until release is closed.
type blockingJournal struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBlockingJournal() *blockingJournal {
	return &blockingJournal{entered: make(chan struct{}), release: make(chan struct{})}
}

func (j *blockingJournal) Record(State, ...Event) error {
	j.once.Do(func() { close(j.entered) })
	<-j.release
	return nil
}

// A slow disk delays only the change being written: every request's pause
// check answers at once, and the change already holds requests.
func TestSlowJournalNeverStallsTheRequestPath(t *testing.T) {
	j := newBlockingJournal()
	c := New(defaults(), j, State{}, quiet)
	defer c.Close()
	paused := make(chan error, 1)
	go func() { _, err := c.Pause(bg, "big", "slow disk", ActorAdmin); paused <- err }()
	select {
	case <-j.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the pause never reached the journal")
	}
	checked := make(chan [2]bool, 1)
	go func() { checked <- [2]bool{c.Blocks("tiny"), c.Blocks("big")} }()
	select {
	case got := <-checked:
		if got[0] || !got[1] {
			t.Fatalf("while the pause of big is written: Blocks(tiny)=%v Blocks(big)=%v, want false, true", got[0], got[1])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request's pause check waited for the journal write")
	}
	if err := c.Wait(bg, "tiny", Hold{}); err != nil {
		t.Fatalf("a request for another model: %v", err)
	}
	_ = c.Counters()
	_ = c.State()
	close(j.release)
	if err := receive(t, paused, "the pause to return"); err != nil {
		t.Fatal(err)
	}
}

// A change that cannot wait any longer behind a slow write is refused, and
// not applied.
func TestChangeGivingUpBehindASlowWriteIsNotApplied(t *testing.T) {
	j := newBlockingJournal()
	c := New(defaults(), j, State{}, quiet)
	defer c.Close()
	first := make(chan error, 1)
	go func() { _, err := c.Pause(bg, "big", "slow disk", ActorAdmin); first <- err }()
	receive(t, j.entered, "the first change to reach the journal")
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if _, err := c.Pause(ctx, "tiny", "behind it", ActorAdmin); !errors.Is(err, ErrBusy) {
		t.Fatalf("got %v, want ErrBusy", err)
	}
	close(j.release)
	receive(t, first, "the first change to return")
	if c.Blocks("tiny") {
		t.Fatal("a change refused as busy was applied")
	}
}

// afterFuncs captures the controller's max_pause timers so a test fires
// them when it chooses.
type afterFuncs struct {
	mu  sync.Mutex
	fns []func()
}

func (a *afterFuncs) install(c *Controller) {
	c.afterFunc = func(_ time.Duration, f func()) *time.Timer {
		a.mu.Lock()
		a.fns = append(a.fns, f)
		a.mu.Unlock()
		return time.NewTimer(time.Hour)
	}
}

func (a *afterFuncs) fireAll() {
	a.mu.Lock()
	fns := a.fns
	a.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// A max_pause timer that fires after Close (it had fired already, and
// waited for the lock) must not write: the store is closed after Close.
func TestMaxPauseTimerFiringAfterCloseWritesNothing(t *testing.T) {
	j := &memJournal{}
	c := NewRestoring(defaults(), j, quiet)
	timers := &afterFuncs{}
	timers.install(c)
	c.Restore(State{})
	if _, err := c.Pause(bg, GlobalScope, "until closed", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	c.Close()
	timers.fireAll()
	if j.count() != 1 {
		t.Fatalf("the journal got %d events after the pause; a timer wrote after Close: %+v", j.count()-1, j.events)
	}
	if _, err := c.Resume(bg, GlobalScope, ActorAdmin); !errors.Is(err, ErrClosed) {
		t.Fatalf("a change after Close: got %v, want ErrClosed", err)
	}
}

// Draining answers every held request at once, and any that would be held
// later, instead of leaving them to wait_timeout.
func TestDrainAnswersHeldRequestsAtOnce(t *testing.T) {
	c := New(defaults(), nil, State{}, quiet)
	defer c.Close()
	_, _ = c.Pause(bg, GlobalScope, "hold", ActorAdmin)
	done := make(chan error, 1)
	go func() { done <- c.Wait(bg, "tiny", Hold{}) }()
	waitUntil(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == 1 })
	c.Drain()
	select {
	case err := <-done:
		if !errors.Is(err, ErrShuttingDown) {
			t.Fatalf("got %v, want ErrShuttingDown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a held request was not answered when custos drained")
	}
	if err := c.Wait(bg, "tiny", Hold{}); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("a request held after the drain: got %v", err)
	}
}

// Pauses hold at most max_held requests and max_held_bytes of bodies; a
// request arriving past either is refused at once, while one admitted
// before the pause keeps its place whatever the count.
func TestHeldRequestsAreBoundedInNumberAndBytes(t *testing.T) {
	cfg := defaults()
	cfg.MaxHeld, cfg.MaxHeldBytes = 2, 1000
	c := New(cfg, nil, State{}, quiet)
	defer c.Close()
	_, _ = c.Pause(bg, GlobalScope, "full", ActorAdmin)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	done := make(chan error, 3)
	go func() { done <- c.Wait(ctx, "tiny", Hold{Bytes: 600}) }()
	waitUntil(t, "the first request to be held", func() bool { return c.Counters().RequestsWaiting == 1 })
	var full *HeldFullError
	if err := c.Wait(ctx, "tiny", Hold{Bytes: 600}); !errors.As(err, &full) || !strings.Contains(full.Limit, "max_held_bytes") || full.RetryAfter < time.Second {
		t.Fatalf("past max_held_bytes: got %v", err)
	}
	go func() { done <- c.Wait(ctx, "tiny", Hold{Bytes: 100}) }()
	waitUntil(t, "the second request to be held", func() bool { return c.Counters().RequestsWaiting == 2 })
	if err := c.Wait(ctx, "tiny", Hold{}); !errors.As(err, &full) || !strings.Contains(full.Limit, "max_held ") {
		t.Fatalf("past max_held: got %v", err)
	}
	go func() { done <- c.Wait(ctx, "tiny", Hold{Bytes: 5000, Admitted: true}) }()
	waitUntil(t, "the admitted request to be held", func() bool { return c.Counters().RequestsWaiting == 3 })
	if m := c.Counters(); m.RequestsRefused != 2 || m.HeldBytes != 5700 {
		t.Fatalf("counters: %+v", m)
	}
	_, _ = c.Resume(bg, GlobalScope, ActorAdmin)
	for range 3 {
		if err := receive(t, done, "the held request to return"); err != nil {
			t.Fatal(err)
		}
	}
	if m := c.Counters(); m.RequestsWaiting != 0 || m.HeldBytes != 0 {
		t.Fatalf("after the resume: %+v", m)
	}
}

// A pause stored before intervention was disabled can still be cleared.
func TestResumeClearsAStoredPauseWhileDisabled(t *testing.T) {
	stored := State{Global: &Pause{Reason: "before the restart", Since: time.Now(), By: ActorAdmin}}
	c := New(Config{MaxPause: time.Hour, WaitTimeout: time.Minute}, nil, stored, quiet)
	defer c.Close()
	if r, err := c.Resume(bg, GlobalScope, ActorCLI); err != nil || !r.Changed || c.Paused() {
		t.Fatalf("got %+v, %v; want the stored pause cleared", r, err)
	}
	if _, err := c.Pause(bg, GlobalScope, "x", ActorAdmin); !errors.Is(err, ErrDisabled) {
		t.Fatalf("a pause while disabled: got %v", err)
	}
}

// A wellbeing report and the pause its policy makes are one change: one
// journal write, so a crash cannot keep the report and lose the pause, and
// the change waits on a slow disk once.
func TestWellbeingAndItsPolicyPauseAreOneWrite(t *testing.T) {
	cfg := defaults()
	cfg.PauseOnDistressed = true
	j := &memJournal{}
	c := New(cfg, j, State{}, quiet)
	defer c.Close()
	if _, err := c.UpdateWellbeing(bg, Distressed, "overloaded", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if j.writes != 1 || len(j.events) != 2 || j.events[0].Action != "wellbeing" || j.events[1].Action != "pause" || j.last.Global == nil {
		t.Fatalf("%d writes of %+v, last state %+v; want one write of the report and the pause", j.writes, j.events, j.last)
	}
	if m := c.Counters(); m.InterventionsTotal != 2 || m.PausesTotal != 1 {
		t.Fatalf("counters: %+v", m)
	}
}
