package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"custos/internal/proctest"
)

// TestSIGTERMWhileBusyDrains keeps 32 clients busy with long generations,
// then sends custos SIGTERM with their requests in flight or queued. Every
// one of them must complete with 200; requests sent after the signal get
// 503 shutting_down, or a refused connection once the listener is closed;
// custos exits with status 0.
func TestSIGTERMWhileBusyDrains(t *testing.T) {
	duration := chaosDuration(t)
	c := startCustos(t, writeConfig(t, t.TempDir(), "shutdown_timeout: 60s\n"+runnerModel(t, "    restart_backoff: 50ms\n")))
	c.waitState("tiny", "ready", 60*time.Second)

	ta := &tally{}
	cl := newClient(90 * time.Second)
	defer cl.close()
	var (
		hold        atomic.Bool  // set just before the signal: clients stop sending
		outstanding atomic.Int64 // requests sent and not yet answered
		wg          sync.WaitGroup
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !hold.Load() {
				outstanding.Add(1)
				r := cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 200, false))
				outstanding.Add(-1)
				judgeChat(ta, r)
			}
		}()
	}
	time.Sleep(duration)
	hold.Store(true)
	// Signal only once custos holds every request the clients sent, so
	// each of them is one custos accepted before the signal.
	var inCustos int
	c.Eventually("custos holds every request sent", 30*time.Second, func() bool {
		m, ok := c.model("tiny")
		inCustos = m.InFlight + m.Queued
		return ok && int64(inCustos) == outstanding.Load()
	})
	retried := c.retries()
	if err := c.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Signal returns once the kernel has queued the signal, before custos
	// has acted on it: a request sent in between is rightly served. The
	// requests judged below go out once custos says it is draining.
	c.Eventually("custos reports it is draining", 30*time.Second, c.draining)
	after := newClientKeepAlive(30*time.Second, false)
	var refused, shuttingDown atomic.Int64
	var afterWG sync.WaitGroup
	for range clients {
		afterWG.Add(1)
		go func() {
			defer afterWG.Done()
			r := after.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 16, false))
			switch {
			case r.Err != nil && errors.Is(r.Err, syscall.ECONNREFUSED):
				refused.Add(1)
			case r.Err == nil && r.Status == 503 && r.ErrorCode() == "shutting_down":
				shuttingDown.Add(1)
			default:
				ta.fail("a request after SIGTERM: " + r.String())
			}
		}()
	}
	proctest.Receive(t, "the requests in custos at SIGTERM to be answered", cl.http.Timeout+30*time.Second, proctest.Done(&wg))
	proctest.Receive(t, "the requests after SIGTERM to be answered", after.http.Timeout+30*time.Second, proctest.Done(&afterWG))
	exitErr, exited := c.Wait(90 * time.Second)
	if !exited {
		t.Fatal("custos did not exit after SIGTERM")
	}
	report(t, ta, retried, fmt.Sprintf("%d in custos at SIGTERM, all completed; after it: %d × 503 shutting_down, %d refused; exit %v",
		inCustos, shuttingDown.Load(), refused.Load(), exitErr))
	if exitErr != nil {
		t.Fatalf("custos exited with %v, want status 0", exitErr)
	}
	if ta.failed.Load() != 0 {
		t.Fatalf("%d requests failed, e.g. %q", ta.failed.Load(), ta.failures())
	}
	if inCustos == 0 {
		t.Fatal("nothing was in flight at SIGTERM: the scenario tested nothing")
	}
}
