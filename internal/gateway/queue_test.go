package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custos/internal/config"
)

func newTestLimiter(max, queue int) *limiter {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
	return newLimiter(max, queue, g, g)
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
	if err := <-done; !errors.Is(err, context.Canceled) {
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
	l.mu.Lock()
	tk := l.pushLocked(false)
	l.mu.Unlock()
	l.release() // grants tk
	if !tk.done {
		t.Fatal("release must grant the oldest waiter")
	}
	// The waiter gives up after being granted: its slot must not leak.
	l.mu.Lock()
	l.leaveLocked(tk)
	l.mu.Unlock()
	if a, q := l.load(); a != 0 || q != 0 {
		t.Fatalf("active = %d, queued = %d, want 0, 0", a, q)
	}
}

func TestHeldPlacesAreGrantedInArrivalOrder(t *testing.T) {
	l := newTestLimiter(1, 0) // no queue for ordinary requests: held places do not count
	const n = 6
	tickets := make([]*ticket, n)
	for i := range tickets {
		tickets[i] = l.reserve()
	}
	order := make(chan int, n)
	var wg sync.WaitGroup
	// Released in reverse: the goroutines of later arrivals run first.
	for i := n - 1; i >= 0; i-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.await(context.Background(), tickets[i], time.Minute); err != nil {
				t.Error(err)
				return
			}
			order <- i
			l.release()
		}()
		if i == n-1 {
			waitFor(t, "the last arrival to be waiting behind the held ones", func() bool {
				l.mu.Lock()
				defer l.mu.Unlock()
				return !tickets[n-1].held
			})
		}
	}
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("request %d was granted in place %d", got, want)
		}
		want++
	}
}

func TestCancelledHeldPlaceDoesNotBlockTheQueue(t *testing.T) {
	l := newTestLimiter(1, 4)
	first, second := l.reserve(), l.reserve()
	l.cancel(first)
	if err := l.await(context.Background(), second, time.Second); err != nil {
		t.Fatalf("the place behind a cancelled one must be granted: %v", err)
	}
	if a, q := l.load(); a != 1 || q != 0 {
		t.Fatalf("active %d queued %d", a, q)
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
