package gateway

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	errQueueFull    = errors.New("queue full")
	errQueueTimeout = errors.New("queue timeout")
)

// limiter bounds the requests in flight to one backend and queues the
// rest in arrival order, up to a maximum. A released slot goes straight to
// the oldest waiter, so no request can overtake another.
type limiter struct {
	max, queueMax int
	inFlightGauge prometheus.Gauge
	queuedGauge   prometheus.Gauge

	mu     sync.Mutex
	active int
	queue  list.List // of *ticket
}

type ticket struct {
	granted chan struct{}
	elem    *list.Element
	done    bool // granted, under mu
}

func newLimiter(max, queueMax int, inFlight, queued prometheus.Gauge) *limiter {
	return &limiter{max: max, queueMax: queueMax, inFlightGauge: inFlight, queuedGauge: queued}
}

// acquire waits for a slot until timeout or until ctx ends.
func (l *limiter) acquire(ctx context.Context, timeout time.Duration) error {
	l.mu.Lock()
	if l.active < l.max && l.queue.Len() == 0 {
		l.active++
		l.inFlightGauge.Set(float64(l.active))
		l.mu.Unlock()
		return nil
	}
	if l.queue.Len() >= l.queueMax {
		l.mu.Unlock()
		return errQueueFull
	}
	t := &ticket{granted: make(chan struct{})}
	t.elem = l.queue.PushBack(t)
	l.queuedGauge.Set(float64(l.queue.Len()))
	l.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case <-t.granted:
		return nil
	case <-timer.C:
		err = errQueueTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.done {
		// Granted while giving up: pass the slot on rather than leak it.
		l.releaseLocked()
		return err
	}
	l.queue.Remove(t.elem)
	l.queuedGauge.Set(float64(l.queue.Len()))
	return err
}

// release frees a slot, handing it to the oldest waiter if there is one.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseLocked()
}

func (l *limiter) releaseLocked() {
	if front := l.queue.Front(); front != nil {
		t := l.queue.Remove(front).(*ticket)
		t.done = true
		close(t.granted)
		l.queuedGauge.Set(float64(l.queue.Len()))
		return
	}
	l.active--
	l.inFlightGauge.Set(float64(l.active))
}

// load returns the requests in flight and waiting.
func (l *limiter) load() (inFlight, queued int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active, l.queue.Len()
}
