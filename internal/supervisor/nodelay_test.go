package supervisor

import (
	"context"
	"fmt"
	"strings"
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
//
// A held probe is held whatever the load, and load only ever lengthens a
// gap, so one load with most gaps short proves the probes are not held: the
// test tries up to three loads, and a machine busy enough to stretch most
// gaps of one is given another. Probes that wait for delayed ACKs make every
// gap of every load long, and fail all three.
func TestReadinessOfBackendWithoutNoDelayIsNotHeldByDelayedACKs(t *testing.T) {
	const attempts = 3
	var failures []string
	for attempt := 1; attempt <= attempts; attempt++ {
		held, gaps, err := probeGapsDuringLoad(t)
		switch {
		case err != "":
			t.Fatal(err)
		case len(gaps) < 10:
			failures = append(failures, fmt.Sprintf("load %d: only %d gaps between progress reports during a 1 s load probed every %v: %v",
				attempt, len(gaps), loadProbeInterval, gaps))
		case held >= len(gaps)/2:
			failures = append(failures, fmt.Sprintf("load %d: %d of %d probes came ≥ %v apart: %v",
				attempt, held, len(gaps), heldGap, gaps))
		default:
			return
		}
	}
	t.Fatalf("in each of %d loads, the probes of a backend without TCP_NODELAY came as if each waited for a delayed ACK:\n%s",
		attempts, strings.Join(failures, "\n"))
}

// heldGap is the least gap between two progress reports whose probe was
// held by a delayed ACK.
const heldGap = loadProbeInterval + 35*time.Millisecond

// probeGapsDuringLoad runs a stand-in without TCP_NODELAY through a 1 s
// load and returns the gaps between the progress reports of its probes and
// how many of them are ≥ heldGap; err is set if the backend failed.
func probeGapsDuringLoad(t *testing.T) (held int, gaps []time.Duration, err string) {
	t.Helper()
	var mu sync.Mutex
	var reports []timedSnapshot
	b := NewBackend(standinModel("--no-nodelay", "--load-time", "1s"), Options{Logger: testLogger(), OnChange: func(s Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, timedSnapshot{time.Now(), s})
	}})
	go b.Run(context.Background())
	defer stopBackend(t, b)
	eventually(t, "readiness", func() bool { return b.Snapshot().State == StateReady || b.Snapshot().LastExit != "" })

	mu.Lock()
	defer mu.Unlock()
	// From the first progress report to ready, every report is a probe's answer.
	var probed []timedSnapshot
	for _, r := range reports {
		if r.snap.LastExit != "" {
			return 0, nil, fmt.Sprintf("the backend failed while loading: %q", r.snap.LastExit)
		}
		if r.snap.State == StateReady || (r.snap.State == StateLoading && r.snap.Progress >= 0) {
			probed = append(probed, r)
		}
	}
	for i := 1; i < len(probed); i++ {
		gap := probed[i].at.Sub(probed[i-1].at)
		gaps = append(gaps, gap)
		if gap >= heldGap {
			held++
		}
	}
	return held, gaps, ""
}
