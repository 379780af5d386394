package fleet

import (
	"testing"
	"time"
)

// hostHung stops host1's custos with SIGSTOP under load: it holds its
// connections and answers nothing. The gateways' probes time out and
// eject it; SIGCONT brings it back and they re-admit it.
func hostHung(t *testing.T, f *fleet, l *ledger) {
	host := f.hosts[0]
	retriesBefore := f.retries(t)
	r := load(t, allOf(f.gateways), 4, maxRequests)
	r.answered(t, 20, 30*time.Second)

	host.hang()
	hung := time.Now()
	for _, g := range f.gateways {
		waitReplica(t, g, host, "ejected", 10*time.Second)
	}
	ejected := time.Since(hung)
	r.answered(t, 30, 30*time.Second)
	f.pauseFleet(t, l, f.gateways[2], "paused while host1 is hung")
	f.resumeFleet(t, l, f.gateways[1])

	host.resume()
	resumed := time.Now()
	for _, g := range f.gateways {
		waitReplica(t, g, host, "ready", 30*time.Second)
	}
	readmitted := time.Since(resumed)
	servesAgain(t, host, 20*time.Second)
	r.answered(t, 30, 30*time.Second)
	tl := r.stop()
	t.Logf("host1 SIGSTOPped: every gateway ejected it within %v (%d requests retried on the other host); SIGCONT: re-admitted by all within %v; load %s",
		ejected.Round(time.Millisecond), f.retries(t)-retriesBefore, readmitted.Round(time.Millisecond), tl)
	if n := tl.failed.Load(); n > 4 {
		t.Errorf("%d requests failed with one host of two hung; at most the 4 in flight may: %s", n, tl)
	}
	l.checkNoChangeLost(t, f.gateways[1])
}
