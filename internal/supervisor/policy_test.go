package supervisor

import (
	"testing"
	"time"
)

func TestBackoffDoublesAndCaps(t *testing.T) {
	p := restartPolicy{backoff: time.Second}
	cases := []struct {
		failures int
		want     time.Duration
	}{
		{0, time.Second},
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{5, 16 * time.Second},
		{6, 30 * time.Second},
		{7, 30 * time.Second},
		{1000, 30 * time.Second},
	}
	for _, c := range cases {
		if got := p.backoffDelay(c.failures); got != c.want {
			t.Errorf("backoffDelay(%d) = %v, want %v", c.failures, got, c.want)
		}
	}
}

func TestBackoffStartingAboveCapIsCapped(t *testing.T) {
	p := restartPolicy{backoff: time.Minute}
	if got := p.backoffDelay(1); got != maxBackoff {
		t.Errorf("backoffDelay(1) with a 1m base = %v, want %v", got, maxBackoff)
	}
}

func TestAfterFailurePlansBackoffThenUnhealthy(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := restartPolicy{backoff: 100 * time.Millisecond, restartMax: 3, cooldown: time.Minute}
	cases := []struct {
		failures int
		want     restartPlan
	}{
		{1, restartPlan{StateBackoff, now.Add(100 * time.Millisecond)}},
		{2, restartPlan{StateBackoff, now.Add(200 * time.Millisecond)}},
		{3, restartPlan{StateUnhealthy, now.Add(time.Minute)}},
		// A try after the cool-down that fails again waits another cool-down.
		{4, restartPlan{StateUnhealthy, now.Add(time.Minute)}},
	}
	for _, c := range cases {
		if got := p.afterFailure(c.failures, now); got != c.want {
			t.Errorf("afterFailure(%d) = %+v, want %+v", c.failures, got, c.want)
		}
	}
}

func TestStableBackendIsForgivenItsFailures(t *testing.T) {
	p := restartPolicy{stableAfter: 30 * time.Second}
	cases := []struct {
		failures int
		readyFor time.Duration
		want     int
	}{
		{2, 0, 2},
		{2, 29 * time.Second, 2},
		{2, 30 * time.Second, 0},
		{5, time.Hour, 0},
		{0, time.Second, 0},
	}
	for _, c := range cases {
		if got := p.failuresWhileReady(c.failures, c.readyFor); got != c.want {
			t.Errorf("failuresWhileReady(%d, %v) = %d, want %d", c.failures, c.readyFor, got, c.want)
		}
	}
}
