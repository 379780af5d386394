package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/supervisor"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeBackend is a backend whose state the test moves on, or that moves on
// by itself (auto): Load → loading → ready, Unload → unloading → unloaded.
type fakeBackend struct {
	auto bool

	mu      sync.Mutex
	snap    supervisor.Snapshot
	changed chan struct{}
	loads   int
	unloads []string
	// inUse, when set, reports requests the test holds a lease for; an
	// Unload while it is above zero is a broken promise.
	inUse      *atomic.Int64
	violations atomic.Int32
}

func newFake(state supervisor.State, auto bool) *fakeBackend {
	return &fakeBackend{auto: auto, snap: supervisor.Snapshot{State: state}, changed: make(chan struct{})}
}

func (f *fakeBackend) Watch() (supervisor.Snapshot, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, f.changed
}

func (f *fakeBackend) set(s supervisor.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap.State = s
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeBackend) Load() {
	f.mu.Lock()
	f.loads++
	f.mu.Unlock()
	f.set(supervisor.StateLoading)
	if f.auto {
		f.set(supervisor.StateReady)
	}
}

func (f *fakeBackend) Unload(reason string) {
	if f.inUse != nil && f.inUse.Load() > 0 {
		f.violations.Add(1)
	}
	f.mu.Lock()
	f.unloads = append(f.unloads, reason)
	f.mu.Unlock()
	f.set(supervisor.StateUnloading)
	if f.auto {
		f.set(supervisor.StateUnloaded)
	}
}

func (f *fakeBackend) counts() (loads int, unloads []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads, append([]string(nil), f.unloads...)
}

func (f *fakeBackend) state() supervisor.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.State
}

// run starts s until the test ends.
func run(t *testing.T, s *Scheduler) {
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("the scheduler did not stop within 10s")
		}
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settled waits until the scheduler has made a round of decisions after
// this call: whatever it had been told before, it has looked at.
func settled(t *testing.T, s *Scheduler) {
	t.Helper()
	n := s.decisions.Load()
	s.wake()
	eventually(t, "a round of decisions", func() bool { return s.decisions.Load() > n })
}

// waitingFor waits until the scheduler counts n requests waiting for id,
// and has decided on them.
func waitingFor(t *testing.T, s *Scheduler, id string, n int64) {
	t.Helper()
	eventually(t, "the requests to wait", func() bool { return s.slots[id].waitingNow.Load() >= n })
	settled(t, s)
}

type acquired struct {
	lease Lease
	err   error
}

func acquire(s *Scheduler, id string, within time.Duration) <-chan acquired {
	out := make(chan acquired, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		l, err := s.Acquire(ctx, id)
		out <- acquired{l, err}
	}()
	return out
}

func got(t *testing.T, ch <-chan acquired, what string) acquired {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	return acquired{}
}

func TestRequestForALoadedModelIsAdmittedAtOnce(t *testing.T) {
	fb := newFake(supervisor.StateReady, false)
	s := New(Budget{Memory: 4 * gib}, []Model{{ID: "a", Startup: true, Memory: gib, Backend: fb}}, nil, quiet)
	// Not even running: the fast path needs no owner.
	l, err := s.Acquire(context.Background(), "a")
	if err != nil || !l.Held() {
		t.Fatalf("got %v, %v", l, err)
	}
	l.Release()
	l.Release() // twice is once
	if n := s.slots["a"].leases.Load(); n != 0 {
		t.Fatalf("leases = %d after release", n)
	}
	if _, err := s.Acquire(context.Background(), "nope"); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("unknown model: %v", err)
	}
}

// A request for a model that is not loaded loads it, and is admitted as
// the load starts (it then waits for ready where requests wait for a
// backend).
func TestRequestForAnUnloadedModelLoadsIt(t *testing.T) {
	fb := newFake(supervisor.StateUnloaded, false)
	s := New(Budget{Memory: 4 * gib}, []Model{{ID: "a", Memory: gib, Backend: fb}}, nil, quiet)
	run(t, s)
	a := got(t, acquire(s, "a", 10*time.Second), "the request to be admitted")
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.lease.Release()
	if loads, _ := fb.counts(); loads != 1 || fb.state() != supervisor.StateLoading {
		t.Fatalf("loads %d, state %v", loads, fb.state())
	}
}

// A request that arrives as its model's ttl unload begins is not lost: it
// waits for the unload to end and the model is loaded again for it.
func TestRequestArrivingAsTheTTLUnloadBeginsIsServedByAReload(t *testing.T) {
	fb := newFake(supervisor.StateReady, false)
	s := New(Budget{Memory: 4 * gib}, []Model{{ID: "a", Startup: true, TTL: 20 * time.Millisecond, Memory: gib, Backend: fb}}, nil, quiet)
	run(t, s)
	eventually(t, "the ttl unload", func() bool { return fb.state() == supervisor.StateUnloading })
	ch := acquire(s, "a", 10*time.Second)
	waitingFor(t, s, "a", 1)
	select {
	case a := <-ch:
		t.Fatalf("admitted to a model being unloaded: %+v", a)
	default:
	}
	fb.set(supervisor.StateUnloaded)
	a := got(t, ch, "the request to be admitted after the reload")
	if a.err != nil {
		t.Fatal(a.err)
	}
	a.lease.Release()
	if loads, unloads := fb.counts(); loads != 1 || len(unloads) != 1 || unloads[0] != "idle for 20ms" {
		t.Fatalf("loads %d, unloads %v", loads, unloads)
	}
}

// Under a storm of requests and an idle timeout that fires between them,
// a model is never unloaded while a request holds it.
func TestTTLNeverUnloadsUnderARequest(t *testing.T) {
	fb := newFake(supervisor.StateReady, true)
	var inUse atomic.Int64
	fb.inUse = &inUse
	s := New(Budget{Memory: 4 * gib}, []Model{{ID: "a", Startup: true, TTL: time.Millisecond, Memory: gib, Backend: fb}}, nil, quiet)
	run(t, s)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				l, err := s.Acquire(ctx, "a")
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
				inUse.Add(1)
				if i := time.Now().UnixNano() % 3; i == 0 {
					time.Sleep(time.Millisecond)
				}
				inUse.Add(-1)
				l.Release()
				if i%4 == 0 {
					time.Sleep(2 * time.Millisecond) // an idle moment past the ttl
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the storm did not finish within 60s")
	}
	loads, unloads := fb.counts()
	if v := fb.violations.Load(); v != 0 {
		t.Fatalf("%d unloads while a request held the model (%d loads, %d unloads)", v, loads, len(unloads))
	}
	t.Logf("%d loads and %d unloads under the storm", loads, len(unloads))
}

// The model chosen for eviction is never one whose load is in progress:
// the waiting model waits until that load is done, then evicts it.
func TestEvictionNeverChoosesAModelStillLoading(t *testing.T) {
	a, b := newFake(supervisor.StateLoading, false), newFake(supervisor.StateUnloaded, false)
	s := New(Budget{Memory: 3 * gib}, []Model{{ID: "a", Startup: true, Memory: 2 * gib, Backend: a}, {ID: "b", Memory: 2 * gib, Backend: b}}, nil, quiet)
	run(t, s)
	ch := acquire(s, "b", 10*time.Second)
	waitingFor(t, s, "b", 1) // the scheduler has looked, and must not have chosen a
	if _, unloads := a.counts(); len(unloads) != 0 {
		t.Fatalf("a model still loading was evicted: %v", unloads)
	}
	a.set(supervisor.StateReady)
	eventually(t, "a to be evicted for b once loaded and idle", func() bool { _, u := a.counts(); return len(u) == 1 })
	if _, unloads := a.counts(); unloads[0] != "evicted for b" {
		t.Fatalf("reason: %v", unloads)
	}
	a.set(supervisor.StateUnloaded)
	if r := got(t, ch, "b's request"); r.err != nil {
		t.Fatal(r.err)
	}
}

// An operator's unload of a model serving a request (a stream) waits for
// it; a request arriving meanwhile waits and is served by a reload.
func TestOperatorUnloadWaitsForTheRequestInFlight(t *testing.T) {
	fb := newFake(supervisor.StateReady, false)
	s := New(Budget{Memory: 4 * gib}, []Model{{ID: "a", Startup: true, Memory: gib, Backend: fb}}, nil, quiet)
	run(t, s)
	stream := got(t, acquire(s, "a", time.Second), "the stream's admission")
	if err := s.Unload(context.Background(), "a", "admin"); err != nil {
		t.Fatal(err)
	}
	later := acquire(s, "a", 10*time.Second)
	waitingFor(t, s, "a", 1)
	if _, unloads := fb.counts(); len(unloads) != 0 {
		t.Fatalf("unloaded under a stream: %v", unloads)
	}
	stream.lease.Release()
	eventually(t, "the unload once the stream ended", func() bool { _, u := fb.counts(); return len(u) == 1 })
	if _, unloads := fb.counts(); unloads[0] != "asked by admin" {
		t.Fatalf("reason: %v", unloads)
	}
	fb.set(supervisor.StateUnloaded)
	if r := got(t, later, "the later request"); r.err != nil {
		t.Fatal(r.err)
	}
	if loads, _ := fb.counts(); loads != 1 {
		t.Fatalf("loads = %d, want the reload", loads)
	}
}

// A load that can never fit beside pinned models is refused at once,
// with the figures; a request for it waits within its own timeout.
func TestLoadThatCannotFitIsRefusedWithTheFigures(t *testing.T) {
	pin, big := newFake(supervisor.StateReady, false), newFake(supervisor.StateUnloaded, false)
	s := New(Budget{Memory: 4 * gib}, []Model{{ID: "pin", Startup: true, Pinned: true, Memory: 3 * gib, Backend: pin}, {ID: "big", Memory: 2 * gib, Backend: big}}, nil, quiet)
	run(t, s)
	err := s.Load(context.Background(), "big")
	var nr *NoRoomError
	if !errors.As(err, &nr) || nr.Need != 2*gib || nr.Held != 3*gib || nr.Budget != 4*gib || nr.Kind != "memory" {
		t.Fatalf("got %v", err)
	}
	if r := got(t, acquire(s, "big", 100*time.Millisecond), "the request's timeout"); !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("a request for a model that cannot fit: %+v", r)
	}
	if _, unloads := pin.counts(); len(unloads) != 0 {
		t.Fatalf("a pinned model was unloaded: %v", unloads)
	}
	// The request that gave up left no waiter behind.
	eventually(t, "the waiter to leave", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return s.Load(ctx, "big") != nil && s.slots["big"].leases.Load() == 0
	})
}

// What a model measured counts until its process is gone, not only until
// its unload begins: the next load must not take memory still held.
func TestMeasuredMemoryCountsUntilTheProcessIsGone(t *testing.T) {
	a, b := newFake(supervisor.StateReady, false), newFake(supervisor.StateUnloaded, false)
	s := New(Budget{Memory: 10 * gib}, []Model{{ID: "a", Startup: true, Memory: 4 * gib, Backend: a}, {ID: "b", Memory: 5 * gib, Backend: b}}, nil, quiet)
	s.slots["a"].measured.Store(7 * gib)
	run(t, s)
	ch := acquire(s, "b", 10*time.Second)
	eventually(t, "a to be evicted for b", func() bool { _, u := a.counts(); return len(u) == 1 })
	settled(t, s) // while a's process leaves, b must not load
	if loads, _ := b.counts(); loads != 0 {
		t.Fatalf("b loaded while a's 7 GiB were still resident")
	}
	a.set(supervisor.StateUnloaded)
	if r := got(t, ch, "b's request"); r.err != nil {
		t.Fatal(r.err)
	}
}
