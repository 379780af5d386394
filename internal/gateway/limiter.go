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
	// errPauseChanged: the control state changed while a request waited in
	// line; it must look again whether a pause holds it.
	errPauseChanged = errors.New("pause changed")
)

// limiter bounds the requests in flight to one backend and keeps the rest
// in line, in arrival order. Slots go to the front of the line only, so no
// request overtakes another, and to nobody while a pause applies to the
// model: a request already in line when a pause begins stays in its place
// until the pause ends, like one that arrived during the pause.
//
// A request that arrives while its model is paused joins the line too, on
// arrival, so that when a resume lets many go at once they are granted
// slots in the order they came, whatever order their goroutines wake in.
// Such a request is not refused for queue_max: a pause makes requests
// wait, and its own bounds (intervention.max_held) limit how many.
type limiter struct {
	max, queueMax int
	// paused reports whether a pause applies to the model now; it is read
	// under mu, so it must not lock anything (the controller's is one
	// atomic load).
	paused        func() bool
	inFlightGauge prometheus.Gauge
	queuedGauge   prometheus.Gauge
	// changed is called, under mu, whenever active or the line changed;
	// it must not block.
	changed func()

	mu     sync.Mutex
	active int
	queue  list.List // of *ticket, arrival order
}

// ticket is one request's place in line.
type ticket struct {
	granted chan struct{} // closed when the request is given a slot
	elem    *list.Element
	done    bool // under mu: granted a slot
}

// isGranted reports whether the ticket has its slot.
func (t *ticket) isGranted() bool {
	select {
	case <-t.granted:
		return true
	default:
		return false
	}
}

// grantedAtOnce is the ticket of a request given a slot on arrival; it is
// shared, as nothing about it changes.
var grantedAtOnce = func() *ticket {
	t := &ticket{granted: make(chan struct{}), done: true}
	close(t.granted)
	return t
}()

func newLimiter(max, queueMax int, paused func() bool, inFlight, queued prometheus.Gauge, changed func()) *limiter {
	if changed == nil {
		changed = func() {}
	}
	return &limiter{max: max, queueMax: queueMax, paused: paused, inFlightGauge: inFlight, queuedGauge: queued, changed: changed}
}

// join takes a place in line, or a slot at once when one is free, nobody
// is ahead and the request is not held by a pause. A request that is not
// held is refused with errQueueFull when queue_max are in line already.
func (l *limiter) join(held bool) (*ticket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !held && l.active < l.max && l.queue.Len() == 0 {
		l.active++
		l.inFlightGauge.Set(float64(l.active))
		l.changed()
		return grantedAtOnce, nil
	}
	if !held && l.queue.Len() >= l.queueMax {
		return nil, errQueueFull
	}
	t := &ticket{granted: make(chan struct{})}
	t.elem = l.queue.PushBack(t)
	l.queuedGauge.Set(float64(l.queue.Len()))
	l.changed()
	return t, nil
}

// wait waits for t's slot until timeout, until pauseChanged is closed
// (errPauseChanged: t keeps its place) or until ctx ends. On any error the
// caller either waits again or gives the place up with leave.
func (l *limiter) wait(ctx context.Context, t *ticket, timeout time.Duration, pauseChanged <-chan struct{}) error {
	select {
	case <-t.granted:
		return nil
	default:
	}
	if timeout <= 0 {
		return errQueueTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.granted:
		return nil
	case <-pauseChanged:
		return errPauseChanged
	case <-timer.C:
		return errQueueTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave gives a place up: it leaves the line, or, if it was granted a
// slot meanwhile, gives the slot back rather than leak it.
func (l *limiter) leave(t *ticket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.done {
		l.active--
	} else {
		l.queue.Remove(t.elem)
	}
	l.dispatchLocked()
}

// release frees a slot.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active--
	l.dispatchLocked()
}

// dispatch grants free slots to the front of the line, as after a pause
// of the model ends.
func (l *limiter) dispatch() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dispatchLocked()
}

func (l *limiter) dispatchLocked() {
	for l.active < l.max && !l.paused() {
		front := l.queue.Front()
		if front == nil {
			break
		}
		t := l.queue.Remove(front).(*ticket)
		t.done = true
		l.active++
		close(t.granted)
	}
	l.queuedGauge.Set(float64(l.queue.Len()))
	l.inFlightGauge.Set(float64(l.active))
	l.changed()
}

// load returns the requests in flight and waiting.
func (l *limiter) load() (inFlight, queued int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active, l.queue.Len()
}
