package supervisor

import (
	"context"
	"errors"
	"net/http"
	"slices"
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
	m := standinModel("--log-requests")
	m.HealthInterval = time.Hour
	m.UnhealthyAfter = 1
	b, h := runBackend(t, m)

	ready, next := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	// The hang route itself never answers: it is left waiting until the
	// test ends. The backend is known to hang once the stand-in has logged
	// the request and a /health of the test's own goes unanswered, so the
	// probe below cannot come before the hang, however slow the machine.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	answered := make(chan int, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ready.URL+"/_standin/hang", nil)
		if err != nil {
			panic(err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			answered <- resp.StatusCode
		}
	}()
	eventually(t, "the stand-in to log the hang request", func() bool {
		return slices.Contains(b.Logs(), "standin POST /_standin/hang")
	})
	short := &http.Client{Timeout: time.Second}
	eventually(t, "the stand-in to stop answering /health", func() bool {
		resp, err := short.Get(ready.URL + "/health")
		if err != nil {
			return true
		}
		resp.Body.Close()
		return false
	})
	select {
	case status := <-answered:
		t.Fatalf("the hang route answered %d", status)
	default:
	}
	b.ReportFailure(errors.New("connection reset by peer"))
	killed, _ := h.await(t, next, "a kill", func(s Snapshot) bool { return s.State != StateReady })
	if killed.LastExit != "killed: 1 failed health probes" {
		t.Fatalf("after the reported failure: %+v", killed)
	}
}
