package supervisor

import (
	"context"
	"sync"
	"testing"
	"time"
)

// timedSnapshot is a published snapshot and when the run loop published it.
type timedSnapshot struct {
	at   time.Time
	snap Snapshot
}

// A backend without TCP_NODELAY that writes each answer's head and body
// apart (the stand-in's --no-nodelay, as Python's http.server) sends the
// body only once the head is acknowledged. Its readiness must be noticed
// without every probe waiting for custos's delayed ACK (issue 9). While it
// loads, each probe reports a new progress, so the gap between two reports
// is one probe exchange plus the load-probe interval; a held exchange, 40 ms
// or more of kernel timer, makes a gap of at least 50 ms, so a count of long
// gaps tells held probes from a noisy machine.
func TestReadinessOfBackendWithoutNoDelayIsNotHeldByDelayedACKs(t *testing.T) {
	const heldGap = loadProbeInterval + 35*time.Millisecond
	var mu sync.Mutex
	var reports []timedSnapshot
	b := NewBackend(standinModel("--no-nodelay", "--load-time", "1s"), Options{Logger: testLogger(), OnChange: func(s Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, timedSnapshot{time.Now(), s})
	}})
	go b.Run(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	eventually(t, "readiness", func() bool { return b.Snapshot().State == StateReady || b.Snapshot().LastExit != "" })

	mu.Lock()
	defer mu.Unlock()
	// From the first progress report to ready, every report is a probe's answer.
	var probed []timedSnapshot
	for _, r := range reports {
		if r.snap.LastExit != "" {
			t.Fatalf("the backend failed while loading: %q", r.snap.LastExit)
		}
		if r.snap.State == StateReady || (r.snap.State == StateStarting && r.snap.Progress >= 0) {
			probed = append(probed, r)
		}
	}
	var gaps []time.Duration
	held := 0
	for i := 1; i < len(probed); i++ {
		gap := probed[i].at.Sub(probed[i-1].at)
		gaps = append(gaps, gap)
		if gap >= heldGap {
			held++
		}
	}
	if len(gaps) < 10 {
		t.Fatalf("only %d progress reports during a 1 s load probed every %v: %v", len(probed), loadProbeInterval, gaps)
	}
	if held >= len(gaps)/2 {
		t.Fatalf("%d of %d probes of a loading backend without TCP_NODELAY came ≥ %v apart, as if each waited for a delayed ACK: %v",
			held, len(gaps), heldGap, gaps)
	}
}
