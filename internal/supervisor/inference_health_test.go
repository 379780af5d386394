package supervisor

import (
	"strings"
	"testing"
	"time"

	"custos/internal/config"
)

// With health_check: generate, a backend that answers /health and fails
// every inference is probed with a generation, fails it, and is restarted.
func TestGenerationProbeCatchesABackendThatFailsEveryInference(t *testing.T) {
	m := standinModel("--fail-inference")
	m.HealthCheck = config.HealthCheckGenerate
	_, h := runBackend(t, m)
	ready, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	failed, _ := h.await(t, next, "the restart", func(s Snapshot) bool { return s.State == StateBackoff })
	if failed.PID == ready.PID || !strings.Contains(failed.LastExit, "failed health probes") {
		t.Fatalf("after generation probes failed: %+v", failed)
	}
}

// Consecutive 5xx answers to real requests get a ready backend checked at
// once with a generation; one that fails it is restarted.
func TestStreakOf5xxAnswersRestartsABackendThatFailsInference(t *testing.T) {
	m := standinModel("--fail-inference")
	m.UnhealthyAfterErrors, m.HealthInterval = 3, time.Hour // no regular probe would notice
	b, h := runBackend(t, m)
	_, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	for range 3 {
		b.ReportAnswer(500)
	}
	failed, _ := h.await(t, next, "the restart", func(s Snapshot) bool { return s.State == StateBackoff })
	if !strings.Contains(failed.LastExit, "3 consecutive 5xx answers") {
		t.Fatalf("after the streak: %+v", failed)
	}
}

// A streak of 5xx answers from a backend that can infer (a client's bad
// requests) is checked, and the backend kept.
func TestStreakOf5xxAnswersKeepsABackendThatCanInfer(t *testing.T) {
	m := standinModel()
	m.UnhealthyAfterErrors, m.HealthInterval = 3, time.Hour
	b, h := runBackend(t, m)
	ready, _ := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	b.ReportAnswer(500)
	b.ReportAnswer(502)
	b.ReportAnswer(200) // a success ends the streak
	b.ReportAnswer(500)
	b.ReportAnswer(500)
	b.ReportAnswer(503)
	time.Sleep(300 * time.Millisecond) // the check runs in milliseconds
	if s := b.Snapshot(); s.State != StateReady || s.PID != ready.PID {
		t.Fatalf("a backend that can infer was restarted: %+v", s)
	}
}
