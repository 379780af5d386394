package remote_test

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// A replica stopped with SIGSTOP accepts connections and never answers:
// its probes time out, it is ejected after unhealthy_after of them, and
// the requests it held are tried on the other replica, so none fails.
func TestHungReplicaIsEjectedAfterItsProbeTimeout(t *testing.T) {
	a, b := launch(t, "127.0.0.1", 0), launch(t, "127.0.0.1", 0)
	f := startFront(t, remoteModel(a.url, b.url), "", remoteOptions())
	f.waitState(t, a.url, "ready")
	f.waitState(t, b.url, "ready")
	var stopped time.Time
	const n, stopAt = 200, 40
	tl := f.load(4, n, func(i int) {
		if i == stopAt {
			a.signal(t, syscall.SIGSTOP)
			stopped = time.Now()
		}
	})
	f.waitState(t, a.url, "ejected")
	st := f.replica(t, a.url)
	// Measured, not asserted: unhealthy_after (2) probes of
	// health_timeout (150ms) each, health_interval (200ms) apart.
	t.Logf("ejected %v after SIGSTOP (%s); requests %d: %v", st.Since.Sub(stopped).Round(time.Millisecond), st.Reason, n, tl.byStatus)
	if !strings.Contains(st.Reason, "failed probes") || !strings.Contains(st.LastProbeError, "deadline exceeded") {
		t.Fatalf("ejected for %q, last probe %q: want timed-out probes", st.Reason, st.LastProbeError)
	}
	if tl.byStatus["200"] != n {
		t.Fatalf("%d of %d requests got 200: %v", tl.byStatus["200"], n, tl.byStatus)
	}
}
