// Package changes merges the change signals of custos's parts — a
// backend's new snapshot, a pause, the gateway's traffic, the scheduler's
// loads — into one broadcast, so that a reader of /status (the dashboard's
// event stream) learns of every change without polling and without each
// part knowing who listens.
package changes

import (
	"context"
	"sync"
	"time"
)

// Feed is the broadcast: Changed returns a channel closed at the next
// Notify, as the supervisor's snapshots do, so any number of readers wait
// on it and none misses a change made after it looked.
type Feed struct {
	mu   sync.Mutex
	next chan struct{}
}

// New returns a feed.
func New() *Feed { return &Feed{next: make(chan struct{})} }

// Changed returns a channel closed at the next change.
func (f *Feed) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.next
}

// Notify says something changed; it never blocks.
func (f *Feed) Notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.next)
	f.next = make(chan struct{})
}

// Follow notifies at every change of a source whose watch returns a
// channel closed at its next change (a supervisor backend's Watch, the
// intervention controller's Changed), until ctx ends. The source is
// watched from before Follow returns, and watched again before each
// notification, so a reader woken sees the source's state at least as new
// as the change that woke it.
func (f *Feed) Follow(ctx context.Context, watch func() <-chan struct{}) {
	next := watch()
	go func() {
		for {
			select {
			case <-next:
				next = watch()
				f.Notify()
			case <-ctx.Done():
				return
			}
		}
	}()
}

// FollowSignals notifies when a signal arrives on ch (a buffered channel
// its source leaves a signal on without waiting, as the gateway does at
// every request), at most once per every: a busy gateway signals
// thousands of times a second, and the readers want the state, not each
// step.
func (f *Feed) FollowSignals(ctx context.Context, ch <-chan struct{}, every time.Duration) {
	go func() {
		for {
			select {
			case <-ch:
				f.Notify()
			case <-ctx.Done():
				return
			}
			select {
			case <-time.After(every):
			case <-ctx.Done():
				return
			}
		}
	}()
}

// At notifies once at t (a deadline that changes what readers see, such
// as the readiness gate's), unless ctx ends first.
func (f *Feed) At(ctx context.Context, t time.Time) {
	go func() {
		timer := time.NewTimer(time.Until(t))
		defer timer.Stop()
		select {
		case <-timer.C:
			f.Notify()
		case <-ctx.Done():
		}
	}()
}
