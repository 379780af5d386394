package remote_test

import (
	"syscall"
	"testing"
)

// A replica SIGKILLed under load is ejected and the other serves every
// request: none fails that the other could serve.
func TestKilledReplicaIsEjectedAndNoRequestFails(t *testing.T) {
	a, b := launch(t, "127.0.0.1", 0), launch(t, "127.0.0.1", 0)
	f := startFront(t, remoteModel(a.url, b.url), "", remoteOptions())
	f.waitState(t, a.url, "ready")
	f.waitState(t, b.url, "ready")
	const n, killAt = 400, 100
	tl := f.load(4, n, func(i int) {
		if i == killAt {
			a.signal(t, syscall.SIGKILL)
		}
	})
	t.Logf("requests %d: by status %v, by stand-in pid %v (killed %s)", n, tl.byStatus, tl.byPid, a.pid())
	if tl.byStatus["200"] != n {
		t.Fatalf("%d of %d requests got 200: %v", tl.byStatus["200"], n, tl.byStatus)
	}
	if tl.byPid[a.pid()] == 0 || tl.byPid[b.pid()] <= n-killAt-4 {
		t.Fatalf("by pid %v: the killed replica served before its death, the other after it", tl.byPid)
	}
	f.waitState(t, a.url, "ejected")
}
