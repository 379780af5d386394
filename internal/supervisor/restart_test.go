package supervisor

import (
	"path/filepath"
	"testing"
	"time"
)

func TestCrashLoopBecomesUnhealthyAndRestartRecovers(t *testing.T) {
	m := standinModel("--fail-starts", "3", "--state-file", filepath.Join(t.TempDir(), "starts"))
	m.RestartMax = 3
	b, h := runBackend(t, m)

	sick, next := h.await(t, 0, "unhealthy", func(s Snapshot) bool { return s.State == StateUnhealthy })
	if sick.ConsecutiveFailures != 3 || sick.Restarts != 2 || sick.LastExit != "exit status 1" || time.Until(sick.RetryAt) < 30*time.Minute {
		t.Fatalf("unhealthy snapshot: %+v", sick)
	}
	if sick.Status() != "unhealthy" || sick.WarmUpState() != "unhealthy" {
		t.Fatalf("status %q, warm-up state %q", sick.Status(), sick.WarmUpState())
	}
	b.Restart()
	ready, _ := h.await(t, next, "ready", func(s Snapshot) bool { return s.State == StateReady })
	if ready.ConsecutiveFailures != 0 || ready.Restarts != 3 {
		t.Fatalf("after Restart: %+v", ready)
	}
}

// An unhealthy backend gets one new try per cool-down on its own; a try
// that fails again keeps it unhealthy.
func TestUnhealthyIsRetriedAfterCooldown(t *testing.T) {
	m := standinModel("--fail-starts", "4", "--state-file", filepath.Join(t.TempDir(), "starts"))
	m.RestartMax = 3
	m.UnhealthyCooldown = 200 * time.Millisecond
	_, h := runBackend(t, m)

	_, next := h.await(t, 0, "unhealthy", func(s Snapshot) bool { return s.State == StateUnhealthy })
	again, next := h.await(t, next, "unhealthy again", func(s Snapshot) bool { return s.State == StateUnhealthy })
	if again.ConsecutiveFailures != 4 {
		t.Fatalf("after the failed retry: %+v", again)
	}
	h.await(t, next, "ready", func(s Snapshot) bool { return s.State == StateReady })
}

// A backend that stays ready for StableAfter is forgiven its failures.
func TestStableBackendResetsFailureCount(t *testing.T) {
	m := standinModel("--fail-starts", "2", "--state-file", filepath.Join(t.TempDir(), "starts"))
	m.StableAfter = 200 * time.Millisecond
	_, h := runBackend(t, m)

	ready, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	if ready.ConsecutiveFailures != 2 {
		t.Fatalf("ready after two failed starts: %+v", ready)
	}
	h.await(t, next, "the failure count reset", func(s Snapshot) bool { return s.State == StateReady && s.ConsecutiveFailures == 0 })
}

func TestOperatorRestartOfReadyBackend(t *testing.T) {
	b, h := runBackend(t, standinModel())

	first, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	b.Restart()
	stopping, next := h.await(t, next, "stopping", func(s Snapshot) bool { return s.State != StateReady })
	if stopping.State != StateStopping || stopping.NotReadySince.IsZero() {
		t.Fatalf("after Restart: %+v", stopping)
	}
	again, _ := h.await(t, next, "ready again", func(s Snapshot) bool { return s.State == StateReady })
	if again.PID == first.PID || again.Restarts != 1 || again.ConsecutiveFailures != 0 || again.LastExit != "exit status 0" {
		t.Fatalf("after the restart: %+v", again)
	}
}
