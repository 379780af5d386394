package remote_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// An ejected replica that answers again is re-admitted by the first probe
// that passes after its cool-down, not before, and gets requests again.
func TestEjectedReplicaIsReadmittedAfterTheCooldown(t *testing.T) {
	a, b := launch(t, "127.0.0.1", 0), launch(t, "127.0.0.1", 0)
	f := startFront(t, remoteModel(a.url, b.url), "", remoteOptions()) // eject_cooldown: 1s
	f.waitState(t, a.url, "ready")
	f.waitState(t, b.url, "ready")
	a.signal(t, syscall.SIGSTOP)
	f.waitState(t, a.url, "ejected")
	ejected := f.replica(t, a.url)
	a.signal(t, syscall.SIGCONT)
	f.waitState(t, a.url, "ready")
	back := f.replica(t, a.url)
	if back.Since.Before(ejected.EjectedUntil) {
		t.Fatalf("re-admitted at %v, before the cool-down ended at %v", back.Since, ejected.EjectedUntil)
	}
	if back.Ejections != 1 || back.Reason != "re-admitted: probe passed after the cool-down" {
		t.Fatalf("re-admitted: %+v", back)
	}
	tl := f.load(2, 20, nil)
	if tl.byStatus["200"] != 20 || tl.byPid[a.pid()] == 0 {
		t.Fatalf("after re-admission: %v, by pid %v", tl.byStatus, tl.byPid)
	}
}

// An operator's restart of a remote model (POST /admin/models/{model}/restart)
// ends every ejection at once: a replica that answers again is back
// without waiting out its cool-down.
func TestRestartEndsAnEjectionAtOnce(t *testing.T) {
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	m := remoteModel(srv.URL)
	m.Remote.EjectCooldown = time.Hour
	f := startFront(t, m, "", remoteOptions())
	f.waitState(t, srv.URL, "ready")
	down.Store(true)
	f.waitState(t, srv.URL, "ejected")
	down.Store(false)
	f.pool.Restart()
	f.waitState(t, srv.URL, "ready")
}
