package chaos

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"custos/internal/proctest"
)

// killInterval is how often the backend is killed in the kill -9 scenario.
const killInterval = 1500 * time.Millisecond

// TestKill9BackendRepeatedly kills the engine with SIGKILL every ~1.5 s
// while 32 clients send small chat requests, a quarter of them streaming,
// once custos is past its readiness start-up window. No non-streaming
// request may fail (custos retries what failed before any byte reached the
// client); a stream completes or ends with a stream_interrupted error
// event; no request hangs.
func TestKill9BackendRepeatedly(t *testing.T) {
	testKill9Backend(t, steadyReadiness, true)
}

// TestKill9BackendWithinReadinessDeadline is the same scenario inside the
// default 30 s readiness deadline after start: a restarting backend that
// has served before must keep the gate open (Degraded), so new requests
// wait for the restart instead of getting 503 not_ready.
func TestKill9BackendWithinReadinessDeadline(t *testing.T) {
	testKill9Backend(t, "", false)
}

func testKill9Backend(t *testing.T, readiness string, steady bool) {
	duration := chaosDuration(t)
	// A restart budget and a stability window that repeated kills cannot
	// exhaust: the scenario is about requests, not about going unhealthy.
	c := startCustos(t, writeConfig(t, t.TempDir(), readiness+runnerModel(t,
		"    health_interval: 200ms\n    health_timeout: 150ms\n    restart_backoff: 50ms\n    restart_max: 1000\n    stable_after: 200ms\n")))
	c.waitState("tiny", "ready", 60*time.Second)
	if steady {
		c.waitPastReadinessDeadline()
	}

	ta := &tally{}
	cl := newClient(60 * time.Second)
	defer cl.close()
	until := time.Now().Add(duration)
	kills := make(chan int, 1)
	go func() { kills <- killBackendEvery(c, killInterval, until) }()
	runClients(clients, until, func(i int) {
		if i%4 == 0 {
			judgeStream(ta, cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 64, true)))
		} else {
			judgeChat(ta, cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 16, false)))
		}
	})
	n := proctest.Receive(t, "the killer to stop", time.Until(until)+killInterval+30*time.Second, kills)
	report(t, ta, c.retries(), fmt.Sprintf("%d kills; a quarter of the clients stream", n))
	if n == 0 {
		t.Fatal("the backend was never killed")
	}
	if ta.failed.Load() != 0 {
		t.Fatalf("%d requests failed, e.g. %q", ta.failed.Load(), ta.failures())
	}
}

// killBackendEvery kills the ready backend with SIGKILL every interval
// until the deadline and returns how many times it did.
func killBackendEvery(c *custos, interval time.Duration, until time.Time) int {
	kills := 0
	for {
		time.Sleep(interval)
		if time.Now().After(until) {
			return kills
		}
		if m, ok := c.model("tiny"); ok && m.State == "ready" && m.PID > 0 {
			if syscall.Kill(m.PID, syscall.SIGKILL) == nil {
				kills++
			}
		}
	}
}
