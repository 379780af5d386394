package supervisor

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestHangAfterReadyIsKilledAfterFailedProbesAndRestarted(t *testing.T) {
	_, h := runBackend(t, standinModel("--hang-after", "300ms"))

	first, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	killed, next := h.await(t, next, "a kill", func(s Snapshot) bool { return s.State != StateReady })
	if killed.LastExit != "killed: 3 failed health probes" || killed.State != StateBackoff || killed.NotReadySince.IsZero() {
		t.Fatalf("after the hang: %+v", killed)
	}
	eventually(t, "the hung process to be gone", func() bool { return processGone(first.PID) })
	again, _ := h.await(t, next, "ready again", func(s Snapshot) bool { return s.State == StateReady })
	if again.PID == first.PID || again.Restarts != 1 {
		t.Fatalf("restart: first %+v, then %+v", first, again)
	}
}

// A failure the gateway reports gets the backend probed at once, not at the
// next health interval (an hour here).
func TestReportedFailureIsProbedAtOnce(t *testing.T) {
	m := standinModel()
	m.HealthInterval = time.Hour
	m.UnhealthyAfter = 1
	b, h := runBackend(t, m)

	ready, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	// The hang route itself never answers: give up on it quickly.
	client := &http.Client{Timeout: 200 * time.Millisecond}
	if resp, err := client.Post(ready.URL+"/_standin/hang", "application/json", nil); err == nil {
		resp.Body.Close()
		t.Fatalf("the hang route answered %d", resp.StatusCode)
	}
	b.ReportFailure(errors.New("connection reset by peer"))
	killed, _ := h.await(t, next, "a kill", func(s Snapshot) bool { return s.State != StateReady })
	if killed.LastExit != "killed: 1 failed health probes" {
		t.Fatalf("after the reported failure: %+v", killed)
	}
}
