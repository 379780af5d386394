package chaos

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

const (
	stopHealthInterval = 200 * time.Millisecond
	stopUnhealthyAfter = 3
	// stopMargin covers the last probe's timeout, the kill, and the
	// scheduling noise of a shared 2-core machine; the model's load time
	// is added to it.
	stopMargin = 3 * time.Second
)

// TestSIGSTOPBackendIsReplaced freezes the engine with SIGSTOP, over and
// over for the scenario's duration, while 32 clients send requests. Each
// time the frozen backend must be detected and replaced by a new process
// within health_interval × unhealthy_after plus a margin and the model's
// load time, and requests must succeed again afterwards. It runs past the
// readiness start-up window, like TestKill9BackendRepeatedly.
func TestSIGSTOPBackendIsReplaced(t *testing.T) {
	duration := chaosDuration(t)
	c := startCustos(t, writeConfig(t, t.TempDir(), steadyReadiness+runnerModel(t, fmt.Sprintf(
		"    health_interval: %v\n    health_timeout: 150ms\n    unhealthy_after: %d\n    restart_backoff: 50ms\n    restart_max: 1000\n    stable_after: 200ms\n",
		stopHealthInterval, stopUnhealthyAfter))))
	began := time.Now()
	first := c.waitState("tiny", "ready", 60*time.Second)
	loadTime := time.Since(began)
	c.waitPastReadinessDeadline()
	bound := stopHealthInterval*stopUnhealthyAfter + stopMargin + loadTime

	ta := &tally{}
	cl := newClient(60 * time.Second)
	defer cl.close()
	until := time.Now().Add(duration)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runClients(clients, until, func(int) {
			judgeChat(ta, cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 16, false)))
		})
	}()

	stops := 0
	pid := first.PID
	for time.Now().Before(until) {
		time.Sleep(500 * time.Millisecond)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP %d: %v", pid, err)
		}
		stops++
		stopped := time.Now()
		var next modelStatus
		c.Eventually(fmt.Sprintf("the frozen backend %d replaced within %v", pid, bound), bound, func() bool {
			m, ok := c.model("tiny")
			next = m
			return ok && m.State == "ready" && m.PID != 0 && m.PID != pid
		})
		t.Logf("frozen backend %d replaced by %d after %v (bound %v; last exit %q)",
			pid, next.PID, time.Since(stopped).Round(time.Millisecond), bound, next.LastExit)
		if r := cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 16, false)); r.Status != 200 {
			t.Fatalf("a request after the replacement failed: %s", r)
		}
		pid = next.PID
	}
	c.clientsDone(cl, until, done)
	report(t, ta, c.retries(), fmt.Sprintf("%d SIGSTOPs, each replaced within %v", stops, bound.Round(time.Millisecond)))
	if ta.failed.Load() != 0 {
		t.Fatalf("%d requests failed, e.g. %q", ta.failed.Load(), ta.failures())
	}
}
