package supervisor

import (
	"encoding/json"
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

// standinRequests reads how many requests a stand-in has answered (this
// one included).
func standinRequests(t *testing.T, url string) int64 {
	t.Helper()
	resp, err := testClient.Get(url + "/_standin/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct{ Requests int64 }
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info.Requests
}

// A streak of 5xx answers from a backend that can infer (a client's bad
// requests) is checked with a generation, and the backend kept; a success
// ends a streak, so eight 5xx with a success after the second are one
// streak of three and the start of another: one check, not two.
func TestStreakOf5xxAnswersKeepsABackendThatCanInfer(t *testing.T) {
	m := standinModel()
	m.UnhealthyAfterErrors, m.HealthInterval = 3, time.Hour // no regular probe runs
	b, h := runBackend(t, m)
	ready, _ := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	// checks is how many requests the stand-in answered since, less the
	// reads of its count.
	reads := int64(1)
	before := standinRequests(t, ready.URL)
	checks := func() int64 { reads++; return standinRequests(t, ready.URL) - before - (reads - 1) }
	for _, status := range []int{500, 502, 200, 500, 500, 503, 500, 500} {
		b.ReportAnswer(status)
	}
	deadline := time.Now().Add(waitLimit)
	for checks() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the streak was never checked with a generation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a second check, were there one, would have run by now
	if n := checks(); n != 1 {
		t.Fatalf("%d checks ran, want 1", n)
	}
	if s := b.Snapshot(); s.State != StateReady || s.PID != ready.PID {
		t.Fatalf("a backend that can infer was restarted: %+v", s)
	}
}
