package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/proctest"
)

// liveStatus is what these tests read of a status event.
type liveStatus struct {
	Models []struct {
		Model    string `json:"model"`
		State    string `json:"state"`
		PID      int    `json:"pid"`
		Restarts int    `json:"restarts"`
		LastExit string `json:"last_exit"`
	} `json:"models"`
}

func parseStatus(t *testing.T, data string) liveStatus {
	t.Helper()
	var st liveStatus
	if err := json.Unmarshal([]byte(data), &st); err != nil || len(st.Models) != 1 {
		t.Fatalf("a status event that is not /status: %v\n%s", err, data)
	}
	return st
}

// The dashboard's stream shows a backend killed with SIGKILL as soon as
// its supervisor knows, the figures of the requests served, and the
// backend's own output live.
func TestLiveEventsShowAKilledBackendItsRequestsAndItsOutput(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	events := proctest.OpenEvents(t, c.URL("/admin/events"))
	var pid int
	events.Until("status", 10*time.Second, func(data string) bool {
		m := parseStatus(t, data).Models[0]
		pid = m.PID
		return m.State == "ready" && m.PID > 0
	})
	events.Until("history", 10*time.Second, nil)

	// The output the stand-in printed when it started, from the ring.
	logs := proctest.OpenEvents(t, c.URL("/admin/models/tiny/logs"))
	logs.Until("line", 10*time.Second, func(data string) bool {
		var l struct {
			Seq    int    `json:"seq"`
			Stream string `json:"stream"`
			Line   string `json:"line"`
		}
		return json.Unmarshal([]byte(data), &l) == nil && l.Seq > 0 && l.Stream == "stdout" && strings.HasPrefix(l.Line, "standin listening on 127.0.0.1:")
	})

	// A request served is counted in the second it ended.
	if r := c.chat(context.Background(), "tiny", true); r.Status != 200 {
		t.Fatalf("chat: %s", r)
	}
	events.Until("stats", 10*time.Second, func(data string) bool {
		var p struct {
			Models map[string]struct {
				Requests   int      `json:"requests"`
				TTFB       *float64 `json:"ttfb_ms"`
				TokensPerS float64  `json:"tokens_per_s"`
			} `json:"models"`
		}
		if json.Unmarshal([]byte(data), &p) != nil {
			return false
		}
		m := p.Models["tiny"]
		return m.Requests == 1 && m.TTFB != nil && m.TokensPerS > 0
	})

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the stand-in (pid %d): %v", pid, err)
	}
	ev := events.Until("status", 10*time.Second, func(data string) bool {
		m := parseStatus(t, data).Models[0]
		return m.State != "ready" || m.PID != pid
	})
	if m := parseStatus(t, ev.Data).Models[0]; m.Restarts < 1 && !strings.Contains(m.LastExit, "killed") {
		t.Fatalf("the status after SIGKILL says neither a restart nor the kill: %+v", m)
	}
	// The restarted process's output comes on the same stream, live.
	logs.Until("line", 20*time.Second, func(data string) bool { return strings.Contains(data, "standin listening on") })
}

// custos shutting down ends the streams at once: its shutdown does not
// wait for a dashboard left open.
func TestLiveStreamsEndWhenCustosShutsDown(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	events := proctest.OpenEvents(t, c.URL("/admin/events"))
	events.Until("status", 10*time.Second, nil)
	logs := proctest.OpenEvents(t, c.URL("/admin/models/tiny/logs"))
	logs.Until("line", 10*time.Second, nil)
	begin := time.Now()
	if err := c.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !events.Ended(10*time.Second) || !logs.Ended(10*time.Second) {
		t.Fatal("a stream was still open 10s after SIGTERM")
	}
	if err, ok := c.Wait(20 * time.Second); !ok || err != nil {
		t.Fatalf("custos did not exit cleanly within 20s of SIGTERM (exited: %v, err: %v)", ok, err)
	}
	// The listeners' graceful close gives open connections 1 s: a custos
	// that waited for its streams would take at least that.
	took := time.Since(begin)
	t.Logf("custos exited %v after SIGTERM with two streams open", took.Round(time.Millisecond))
	if took >= time.Second {
		t.Fatalf("custos took %v to exit: its shutdown waited for the open streams", took)
	}
}
