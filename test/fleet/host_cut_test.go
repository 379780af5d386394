package fleet

import (
	"testing"
	"time"
)

// hostCutOff takes host1's link down under load: the gateways eject it
// and send everything to host2; the link comes back and they re-admit it.
func hostCutOff(t *testing.T, f *fleet, l *ledger) {
	host := f.hosts[0]
	retriesBefore := f.retries(t)
	r := load(t, allOf(f.gateways), 4, maxRequests)
	r.answered(t, 20, 30*time.Second)

	host.host.Cut(t)
	cut := time.Now()
	for _, g := range f.gateways {
		waitReplica(t, g, host, "ejected", 10*time.Second)
	}
	ejected := time.Since(cut)
	r.answered(t, 30, 30*time.Second)
	f.pauseFleet(t, l, f.gateways[1], "paused while host1 is cut off")
	f.resumeFleet(t, l, f.gateways[0])
	failedWhileCut := r.failed.Load()

	host.host.Restore(t)
	restored := time.Now()
	for _, g := range f.gateways {
		waitReplica(t, g, host, "ready", 30*time.Second)
	}
	readmitted := time.Since(restored)
	servesAgain(t, host, 20*time.Second)
	r.answered(t, 30, 30*time.Second)
	tl := r.stop()
	t.Logf("host1 link down: every gateway ejected it within %v (%d requests retried on the other host); back up: re-admitted by all within %v; load %s",
		ejected.Round(time.Millisecond), f.retries(t)-retriesBefore, readmitted.Round(time.Millisecond), tl)
	// Only requests already on their way to host1 when its link went
	// down can fail: one per worker at most.
	if n := tl.failed.Load(); n > 4 || failedWhileCut > 4 {
		t.Errorf("%d requests failed with one host of two cut off; at most the 4 in flight may: %s", n, tl)
	}
	l.checkNoChangeLost(t, f.gateways[0])
}
