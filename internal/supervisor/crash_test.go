package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/config"
)

func TestCrashDuringLoadIsRestarted(t *testing.T) {
	_, h := runBackend(t, standinModel("--load-time", "400ms", "--crash-during-load"))

	first, _ := h.await(t, 0, "loading", func(s Snapshot) bool { return s.State == StateLoading })
	crashed, next := h.await(t, 0, "a crash", func(s Snapshot) bool { return s.LastExit != "" })
	if crashed.LastExit != "exit status 1" || crashed.State != StateBackoff || crashed.ConsecutiveFailures != 1 || crashed.RetryAt.IsZero() {
		t.Fatalf("after the crash: %+v", crashed)
	}
	again, _ := h.await(t, next, "a restart", func(s Snapshot) bool { return s.State == StateLoading })
	if again.PID == first.PID || again.Restarts != 1 {
		t.Fatalf("restart: first %+v, then %+v", first, again)
	}
}

func TestCrashAfterReadyIsRestarted(t *testing.T) {
	_, h := runBackend(t, standinModel("--crash-after", "300ms"))

	first, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	crashed, next := h.await(t, next, "a crash", func(s Snapshot) bool { return s.State != StateReady })
	if crashed.LastExit != "exit status 1" || crashed.State != StateBackoff || crashed.NotReadySince.IsZero() {
		t.Fatalf("after the crash: %+v", crashed)
	}
	again, _ := h.await(t, next, "ready again", func(s Snapshot) bool { return s.State == StateReady })
	if again.PID == first.PID || again.Restarts != 1 || !again.NotReadySince.IsZero() {
		t.Fatalf("restart: first %+v, then %+v", first, again)
	}
}

// A crashed backend's children in its process group are killed with it,
// and the crash is noticed even though an orphan still holds its output.
func TestCrashKillsTheRestOfTheProcessGroup(t *testing.T) {
	m := standinModel()
	m.Cmd = []string{"/bin/sh", "-c", fmt.Sprintf("sleep 1000 & exec %s --host ${HOST} --port ${PORT} --crash-after 300ms", standinPath)}
	_, h := runBackend(t, m)

	first, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	crashed, _ := h.await(t, next, "a crash", func(s Snapshot) bool { return s.State != StateReady })
	if crashed.LastExit != "exit status 1" {
		t.Fatalf("after the crash: %+v", crashed)
	}
	eventually(t, "the crashed backend's process group to be gone", func() bool { return groupGone(first.PID) })
}

// A command that cannot even be started counts as a failure like a crash,
// and LastExit says why.
func TestUnstartableCommandCountsAsFailure(t *testing.T) {
	m := standinModel()
	m.Cmd = []string{"/nonexistent/llama-server", "--port", "${PORT}"}
	m.RestartMax = 2
	_, h := runBackend(t, m)

	sick, _ := h.await(t, 0, "unhealthy", func(s Snapshot) bool { return s.State == StateUnhealthy })
	if !strings.HasPrefix(sick.LastExit, "start: ") || !strings.Contains(sick.LastExit, "/nonexistent/llama-server") || sick.ConsecutiveFailures != 2 {
		t.Fatalf("unhealthy snapshot: %+v", sick)
	}
}

// A runner backend is the custos executable with the runner subcommand; a
// script standing in for custos checks the subcommand and runs the stand-in.
func TestRunnerBackendRunsTheExecutable(t *testing.T) {
	script := filepath.Join(t.TempDir(), "custos")
	body := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = runner ] || exit 3\nshift\nexec %s \"$@\"\n", standinPath)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	m := standinModel()
	m.Backend, m.Cmd = config.BackendRunner, nil
	h := &history{}
	b := NewBackend(m, Options{Logger: testLogger(), Executable: script, OnChange: h.add})
	go b.Run(context.Background())
	t.Cleanup(func() { stopBackend(t, b) })

	ready, _ := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady || s.LastExit != "" })
	if ready.State != StateReady || ready.Backend != BackendNameRunner {
		t.Fatalf("runner backend: %+v", ready)
	}
}
