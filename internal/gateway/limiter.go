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
// rest in arrival order, up to a maximum. Slots go to the front of the
// queue only, so no request overtakes another.
//
// A request held by a pause takes its place in the queue when it arrives
// (reserve) and is not granted until the pause lets it go (await). So when
// a resume releases many held requests at once, they are granted slots in
// the order they arrived, whatever order their goroutines wake in. Held
// places do not count against queue_max: a pause makes requests wait, it
// does not turn them away.
type limiter struct {
	max, queueMax int
	inFlightGauge prometheus.Gauge
	queuedGauge   prometheus.Gauge

	mu     sync.Mutex
	active int
	held   int       // tickets in the queue still held by a pause
	queue  list.List // of *ticket, arrival order
}

type ticket struct {
	granted chan struct{}
	elem    *list.Element
	held    bool // under mu: waiting for a pause to end, not grantable
	done    bool // under mu: granted a slot
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
	if l.queue.Len()-l.held >= l.queueMax {
		l.mu.Unlock()
		return errQueueFull
	}
	t := l.pushLocked(false)
	l.mu.Unlock()
	return l.wait(ctx, t, timeout)
}

// reserve takes a place in the queue for a request held by a pause.
func (l *limiter) reserve() *ticket {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pushLocked(true)
}

// await turns a reserved place into a request for a slot and waits for it.
func (l *limiter) await(ctx context.Context, t *ticket, timeout time.Duration) error {
	l.mu.Lock()
	t.held = false
	l.held--
	l.dispatchLocked()
	l.mu.Unlock()
	return l.wait(ctx, t, timeout)
}

// cancel gives up a reserved place (the pause timed out or the client left).
func (l *limiter) cancel(t *ticket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.held {
		t.held = false
		l.held--
	}
	l.leaveLocked(t)
}

func (l *limiter) pushLocked(held bool) *ticket {
	t := &ticket{granted: make(chan struct{}), held: held}
	t.elem = l.queue.PushBack(t)
	if held {
		l.held++
	}
	l.queuedGauge.Set(float64(l.queue.Len()))
	return t
}

func (l *limiter) wait(ctx context.Context, t *ticket, timeout time.Duration) error {
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
	l.leaveLocked(t)
	return err
}

// leaveLocked takes a ticket out: out of the queue if it is still there,
// or, if it was granted meanwhile, gives its slot back rather than leak it.
func (l *limiter) leaveLocked(t *ticket) {
	if t.done {
		l.active--
		l.inFlightGauge.Set(float64(l.active))
	} else {
		l.queue.Remove(t.elem)
		l.queuedGauge.Set(float64(l.queue.Len()))
	}
	l.dispatchLocked()
}

// release frees a slot.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active--
	l.dispatchLocked()
	l.inFlightGauge.Set(float64(l.active))
}

// dispatchLocked grants free slots to the front of the queue, stopping at
// a place still held by a pause: those behind it arrived later.
func (l *limiter) dispatchLocked() {
	for l.active < l.max {
		front := l.queue.Front()
		if front == nil || front.Value.(*ticket).held {
			break
		}
		t := l.queue.Remove(front).(*ticket)
		t.done = true
		l.active++
		close(t.granted)
	}
	l.queuedGauge.Set(float64(l.queue.Len()))
	l.inFlightGauge.Set(float64(l.active))
}

// load returns the requests in flight and waiting.
func (l *limiter) load() (inFlight, queued int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active, l.queue.Len()
}
