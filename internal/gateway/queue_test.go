package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custos/internal/config"
)

// testLimiter is a limiter whose pause the test sets.
type testLimiter struct {
	*limiter
	paused  atomic.Bool
	changed chan struct{}
}

func newTestLimiter(max, queue int) *testLimiter {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
	tl := &testLimiter{changed: make(chan struct{})}
	tl.limiter = newLimiter(max, queue, tl.paused.Load, g, g, nil)
	return tl
}

// acquire joins the line and waits for a slot, leaving the line if it
// gives up.
func (l *testLimiter) acquire(ctx context.Context, timeout time.Duration) error {
	t, err := l.join(false)
	if err != nil {
		return err
	}
	if err := l.wait(ctx, t, timeout, nil); err != nil {
		l.leave(t)
		return err
	}
	return nil
}

func TestLimiterGrantsInArrivalOrder(t *testing.T) {
	l := newTestLimiter(1, 10)
	if err := l.acquire(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	const n = 8
	order := make(chan int, n)
	for i := range n {
		go func() {
			if err := l.acquire(context.Background(), time.Minute); err != nil {
				t.Error(err)
				return
			}
			order <- i
			l.release()
		}()
		waitFor(t, "waiter queued", func() bool { _, q := l.load(); return q == i+1 })
	}
	l.release()
	for want := range n {
		if got := <-order; got != want {
			t.Fatalf("waiter %d ran in place %d", got, want)
		}
	}
}

func TestLimiterQueueFull(t *testing.T) {
	l := newTestLimiter(1, 1)
	_ = l.acquire(context.Background(), time.Minute)
	go func() { _ = l.acquire(context.Background(), time.Minute) }()
	waitFor(t, "one queued", func() bool { _, q := l.load(); return q == 1 })
	if err := l.acquire(context.Background(), time.Minute); !errors.Is(err, errQueueFull) {
		t.Fatalf("got %v", err)
	}
	if _, err := l.join(true); err != nil {
		t.Fatalf("a request held by a pause is not refused for queue_max: %v", err)
	}
}

func TestLimiterQueueTimeout(t *testing.T) {
	l := newTestLimiter(1, 1)
	_ = l.acquire(context.Background(), time.Minute)
	if err := l.acquire(context.Background(), 10*time.Millisecond); !errors.Is(err, errQueueTimeout) {
		t.Fatalf("got %v", err)
	}
	if _, q := l.load(); q != 0 {
		t.Fatal("a timed-out waiter stayed in the queue")
	}
}

func TestLimiterClientGoneLeavesQueue(t *testing.T) {
	l := newTestLimiter(1, 4)
	_ = l.acquire(context.Background(), time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.acquire(ctx, time.Minute) }()
	waitFor(t, "queued", func() bool { _, q := l.load(); return q == 1 })
	cancel()
	if err := receive(t, done, "the waiter to give up"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	l.release()
	if a, q := l.load(); a != 0 || q != 0 {
		t.Fatalf("slot leaked: active %d queued %d", a, q)
	}
}

func TestLimiterGrantWhileGivingUpPassesTheSlotOn(t *testing.T) {
	l := newTestLimiter(1, 4)
	_ = l.acquire(context.Background(), time.Minute)
	tk, err := l.join(false)
	if err != nil {
		t.Fatal(err)
	}
	l.release() // grants tk
	if !tk.done {
		t.Fatal("release must grant the oldest waiter")
	}
	// The waiter gives up after being granted: its slot must not leak.
	l.leave(tk)
	if a, q := l.load(); a != 0 || q != 0 {
		t.Fatalf("active = %d, queued = %d, want 0, 0", a, q)
	}
}

// While a pause applies, the line does not move: a slot freed during the
// pause is not granted to the request waiting in line, and a request that
// arrives with a slot free waits too. When the pause ends they are granted
// in arrival order.
func TestLineDoesNotMoveWhileThePauseHolds(t *testing.T) {
	l := newTestLimiter(1, 4)
	_ = l.acquire(context.Background(), time.Minute)
	queued, _ := l.join(false)
	l.paused.Store(true)
	l.release()
	if queued.done {
		t.Fatal("a request in line was granted a slot during a pause")
	}
	held, _ := l.join(true)
	if held.done {
		t.Fatal("a request held by a pause was granted a slot on arrival")
	}
	l.paused.Store(false)
	l.dispatch()
	if !queued.done || held.done {
		t.Fatalf("after the pause: first in line granted %v, second %v; want true, false", queued.done, held.done)
	}
	l.release()
	if !held.done {
		t.Fatal("the second in line must be granted next")
	}
}

// A request waiting in line is told when the control state changes, so it
// can look whether a pause now holds it, and keeps its place.
func TestWaitInLineReturnsWhenThePauseChanges(t *testing.T) {
	l := newTestLimiter(1, 4)
	_ = l.acquire(context.Background(), time.Minute)
	tk, _ := l.join(false)
	changed := make(chan struct{})
	close(changed)
	if err := l.wait(context.Background(), tk, time.Minute, changed); !errors.Is(err, errPauseChanged) {
		t.Fatalf("got %v, want errPauseChanged", err)
	}
	if _, q := l.load(); q != 1 {
		t.Fatal("the request lost its place in line")
	}
}

func TestQueueFullGets429ThroughTheGateway(t *testing.T) {
	hold := make(chan struct{})
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hold; ok(w, r) }),
		func(c *config.Config) { c.Models[0].MaxConcurrency = 1; c.Models[0].QueueMax = 1 })
	defer close(hold)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); f.post("/v1/chat/completions", chatBody) }()
	}
	waitFor(t, "one in flight, one queued", func() bool { l := f.gw.Load("tiny"); return l.InFlight == 1 && l.Queued == 1 })
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 429 || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "queue_full") {
		t.Fatalf("got %d %v %s", a.status, a.header, a.body)
	}
}
