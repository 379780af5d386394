package supervisor

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"custos/internal/config"
)

// A model loaded on demand starts with no process, unloaded because it
// was never loaded, and loads when asked.
func TestOnDemandBackendWaitsUnloadedUntilLoaded(t *testing.T) {
	m := standinModel()
	m.Load = config.LoadOnDemand
	b, h := runBackend(t, m)
	unloaded, next := h.await(t, 0, "unloaded", func(s Snapshot) bool { return s.State == StateUnloaded })
	if unloaded.Reason != ReasonNeverLoaded || unloaded.PID != 0 || unloaded.Status() != "ok" || unloaded.WarmUpState() != "unloaded" {
		t.Fatalf("before its first load: %+v (status %q, warm-up %q)", unloaded, unloaded.Status(), unloaded.WarmUpState())
	}
	b.Load()
	ready, _ := h.await(t, next, "ready", func(s Snapshot) bool { return s.State == StateReady })
	if ready.PID == 0 {
		t.Fatalf("after Load: %+v", ready)
	}
}

// Unloading stops the process gracefully (SIGTERM), passes through
// unloading, ends unloaded with the reason given, and does not restart
// it; a later Load starts a new process.
func TestUnloadStopsTheProcessAndSaysWhy(t *testing.T) {
	b, h := runBackend(t, standinModel())
	ready, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	b.Unload("idle for 5m0s")
	unloading, next := h.await(t, next, "unloading", func(s Snapshot) bool { return s.State == StateUnloading })
	if unloading.Reason != "idle for 5m0s" {
		t.Fatalf("unloading: %+v", unloading)
	}
	unloaded, next := h.await(t, next, "unloaded", func(s Snapshot) bool { return s.State == StateUnloaded })
	if unloaded.Reason != "idle for 5m0s" || unloaded.PID != 0 || unloaded.LastExit != "exit status 0" || unloaded.ConsecutiveFailures != 0 {
		t.Fatalf("unloaded: %+v", unloaded)
	}
	if err := syscall.Kill(ready.PID, 0); err == nil {
		t.Fatalf("the unloaded backend's process %d still runs", ready.PID)
	}
	time.Sleep(100 * time.Millisecond) // two health intervals: nothing restarts it
	if s := b.Snapshot(); s.State != StateUnloaded {
		t.Fatalf("an unloaded backend was started again: %+v", s)
	}
	b.Load()
	again, _ := h.await(t, next, "ready again", func(s Snapshot) bool { return s.State == StateReady })
	if again.PID == ready.PID {
		t.Fatal("Load after an unload did not start a new process")
	}
}

// A backend waiting to restart after a crash, asked to unload, unloads
// instead of starting again.
func TestUnloadDuringBackoffUnloads(t *testing.T) {
	m := standinModel("--fail-starts", "1000", "--state-file", filepath.Join(t.TempDir(), "starts"))
	m.RestartBackoff = time.Hour
	b, h := runBackend(t, m)
	_, next := h.await(t, 0, "backoff", func(s Snapshot) bool { return s.State == StateBackoff })
	b.Unload("asked by admin")
	unloaded, _ := h.await(t, next, "unloaded", func(s Snapshot) bool { return s.State == StateUnloaded })
	if unloaded.Reason != "asked by admin" || !unloaded.RetryAt.IsZero() {
		t.Fatalf("unloaded from backoff: %+v", unloaded)
	}
}
