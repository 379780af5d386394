package changes

import (
	"context"
	"testing"
	"time"
)

func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func TestNotifyWakesEveryReaderOfTheChangeBefore(t *testing.T) {
	f := New()
	a, b := f.Changed(), f.Changed()
	f.Notify()
	if !closedWithin(a, time.Second) || !closedWithin(b, time.Second) {
		t.Fatal("a reader was not woken")
	}
	if closedWithin(f.Changed(), 10*time.Millisecond) {
		t.Fatal("the channel after a change is already closed")
	}
}

// A source's every change reaches the feed, not just the first.
func TestFollowRelaysEachChangeOfASource(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := New()
	src := New()
	f.Follow(ctx, src.Changed)
	for i := range 3 {
		seen := f.Changed()
		src.Notify()
		if !closedWithin(seen, 5*time.Second) {
			t.Fatalf("change %d of the source did not reach the feed within 5s", i)
		}
	}
}

func TestFollowSignalsAndAtNotify(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := New()
	signals := make(chan struct{}, 1)
	f.FollowSignals(ctx, signals, time.Millisecond)
	seen := f.Changed()
	signals <- struct{}{}
	if !closedWithin(seen, 5*time.Second) {
		t.Fatal("a signal did not reach the feed within 5s")
	}
	seen = f.Changed()
	f.At(ctx, time.Now().Add(20*time.Millisecond))
	if !closedWithin(seen, 5*time.Second) {
		t.Fatal("the deadline did not reach the feed within 5s")
	}
}
