package intervention

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func defaults() Config {
	return Config{Enabled: true, MaxPause: 300 * time.Second, WaitTimeout: 60 * time.Second}
}

// memJournal records what it is given; fail makes it refuse.
type memJournal struct {
	mu     sync.Mutex
	events []Event
	last   State
	fail   bool
}

func (j *memJournal) Record(st State, ev Event) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail {
		return errors.New("disk full")
	}
	j.events = append(j.events, ev)
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
	if err := c.Wait(context.Background(), "tiny"); err != nil {
		t.Fatal(err)
	}
}

func TestManualPauseResumeIsIdempotentAndJournaled(t *testing.T) {
	j := &memJournal{}
	c := New(defaults(), j, State{}, quiet)
	r, _ := c.Pause(GlobalScope, "maintenance", ActorAdmin)
	if !r.Changed || !r.Durable || !c.Paused() {
		t.Fatalf("pause: %+v", r)
	}
	if r, _ := c.Pause(GlobalScope, "again", ActorAdmin); r.Changed || r.State.Global.Reason != "maintenance" {
		t.Fatalf("a second pause must change nothing: %+v", r)
	}
	if r, _ := c.Resume(GlobalScope, ActorCLI); !r.Changed || c.Paused() {
		t.Fatalf("resume: %+v", r)
	}
	if r, _ := c.Resume(GlobalScope, ActorCLI); r.Changed {
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
	_, _ = c.UpdateWellbeing(Distressed, "", "test")
	if !c.Paused() {
		t.Fatal("distressed must pause")
	}
	_, _ = c.UpdateWellbeing(Healthy, "", "test")
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
	_, _ = c.UpdateWellbeing(Distressed, "bad day", "test")
	if c.Paused() || c.State().Wellbeing != Distressed {
		t.Fatal("by default wellbeing is recorded but does not pause")
	}
}

func TestWellbeingDoesNotEndAnOperatorsPause(t *testing.T) {
	cfg := defaults()
	cfg.PauseOnDistressed = true
	c := New(cfg, nil, State{}, quiet)
	_, _ = c.Pause(GlobalScope, "operator", ActorAdmin)
	_, _ = c.UpdateWellbeing(Healthy, "fine", "test")
	if !c.Paused() {
		t.Fatal("an operator's pause must hold until resumed")
	}
}

func TestWaitersReleasedOnResume(t *testing.T) {
	c := New(defaults(), nil, State{}, quiet)
	_, _ = c.Pause(GlobalScope, "hold", ActorAdmin)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Wait(context.Background(), "tiny"); err != nil {
				t.Error(err)
			}
		}()
		for c.Counters().RequestsWaiting != int64(i+1) {
			time.Sleep(time.Millisecond)
		}
	}
	_, _ = c.Resume(GlobalScope, ActorAdmin)
	wg.Wait()
	if m := c.Counters(); m.RequestsWaited != n || m.RequestsBlocked != n || m.RequestsWaiting != 0 {
		t.Fatalf("counters: %+v", m)
	}
}

func TestModelPauseHoldsOnlyThatModel(t *testing.T) {
	c := New(defaults(), nil, State{}, quiet)
	_, _ = c.Pause("big", "reload", ActorAdmin)
	if err := c.Wait(context.Background(), "tiny"); err != nil {
		t.Fatalf("another model must pass: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait(context.Background(), "big") }()
	for c.Counters().RequestsWaiting != 1 {
		time.Sleep(time.Millisecond)
	}
	_, _ = c.Resume("big", ActorAdmin)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWaitTimeoutGivesPausedError(t *testing.T) {
	cfg := defaults()
	cfg.WaitTimeout = 20 * time.Millisecond
	c := New(cfg, nil, State{}, quiet)
	_, _ = c.Pause(GlobalScope, "investigating", ActorAdmin)
	err := c.Wait(context.Background(), "tiny")
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
	_, _ = c.Pause(GlobalScope, "hold", ActorAdmin)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx, "tiny") }()
	for c.Counters().RequestsWaiting != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
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
	_, _ = c.Pause(GlobalScope, "short", ActorAdmin)
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
	r, err := c.Pause(GlobalScope, "x", ActorAdmin)
	if err != nil || !r.Changed || r.Durable || !c.Paused() {
		t.Fatalf("got %+v, %v", r, err)
	}
}

func TestDisabledMeansNoGating(t *testing.T) {
	c := New(Config{MaxPause: time.Minute, WaitTimeout: time.Minute}, nil, State{}, quiet)
	if _, err := c.Pause(GlobalScope, "x", ActorAdmin); !errors.Is(err, ErrDisabled) {
		t.Fatalf("got %v", err)
	}
	if err := c.Wait(context.Background(), "tiny"); err != nil {
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
					_, _ = c.Pause(GlobalScope, "storm", ActorAdmin)
				case 1:
					_, _ = c.Resume(GlobalScope, ActorAdmin)
				case 2:
					_, _ = c.UpdateWellbeing(Distressed, "", "test")
				case 3:
					_, _ = c.UpdateWellbeing(Healthy, "", "test")
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range rounds {
				_ = c.Wait(context.Background(), "tiny")
			}
		}()
	}
	wg.Wait()
	_, _ = c.Resume(GlobalScope, ActorAdmin)
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
	go func() { done <- c.Wait(context.Background(), "tiny") }()
	go func() { done <- c.Wait(context.Background(), "other") }()
	for c.Counters().RequestsWaiting != 2 {
		time.Sleep(time.Millisecond)
	}
	paused := make(chan error, 1)
	go func() { _, err := c.Pause("tiny", "sent during the restore", ActorCLI); paused <- err }()

	c.Restore(State{Models: map[string]*Pause{"other": {Reason: "kept", Since: time.Now(), By: ActorAdmin}}})
	if err := <-paused; err != nil {
		t.Fatalf("a change sent while restoring: %v", err)
	}
	st := c.State()
	if st.Models["other"] == nil || st.Models["tiny"] == nil || st.Models["tiny"].Reason != "sent during the restore" {
		t.Fatalf("the change must apply on top of the restored state: %+v", st)
	}
	if _, err := c.Resume("tiny", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the request for tiny: %v", err)
	}
	if c.Counters().RequestsWaiting != 1 || !c.Blocks("other") {
		t.Fatalf("the restored pause of `other` must keep holding its request: %+v", c.Counters())
	}
	if _, err := c.Resume("other", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("resumed: %v", err)
	}
}

// A change that waits longer than wait_timeout for the restore is refused.
func TestChangeWaitingTooLongForTheRestoreIsRefused(t *testing.T) {
	cfg := defaults()
	cfg.WaitTimeout = 10 * time.Millisecond
	c := NewRestoring(cfg, nil, quiet)
	defer c.Close()
	if _, err := c.UpdateWellbeing(Distressed, "x", ActorAdmin); !errors.Is(err, ErrRestoring) {
		t.Fatalf("got %v", err)
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
	if err := c.Wait(context.Background(), "tiny"); !errors.As(err, &pe) || !strings.Contains(pe.Reason, "control state") {
		t.Fatalf("got %v", err)
	}
}
