package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"custos/internal/proctest"
)

// pauseReason is the operator's reason the restarted custos must remember.
const pauseReason = "chaos: held across kill -9"

// intervention is the part of GET /admin/intervention this suite reads.
type intervention struct {
	Paused bool `json:"paused"`
	State  struct {
		Global *struct {
			Reason string `json:"reason"`
		} `json:"global"`
	} `json:"state"`
	Counters struct {
		Waiting int `json:"requests_waiting"`
	} `json:"counters"`
}

func (c *custos) intervention() intervention {
	c.T.Helper()
	var out intervention
	resp, err := proctest.Client.Get(c.URL("/admin/intervention"))
	if err != nil {
		c.T.Fatalf("/admin/intervention: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.T.Fatalf("/admin/intervention: %v", err)
	}
	return out
}

func (c *custos) admin(path, body string) {
	c.T.Helper()
	resp, err := proctest.Client.Post(c.URL(path), "application/json", strings.NewReader(body))
	if err != nil {
		c.T.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.T.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

// TestKill9CustosWhilePausedComesBackPaused pauses inference with 32
// clients' requests held, kills custos with SIGKILL, and starts it again on
// the same configuration and store: it must come back paused with the same
// reason, hold the clients' new requests, and serve them all on resume.
// The requests held by the killed process die with it; they are counted
// apart, not as failures, since no process survives its own kill -9.
func TestKill9CustosWhilePausedComesBackPaused(t *testing.T) {
	duration := chaosDuration(t)
	cfg := writeConfig(t, t.TempDir(), runnerModel(t, "    restart_backoff: 50ms\n"))
	c := startCustos(t, cfg)
	oldBackend := c.waitState("tiny", "ready", 60*time.Second).PID

	ta := &tally{}
	cl := newClient(60 * time.Second)
	defer cl.close()
	var lost atomic.Int64
	c.admin("/admin/pause", fmt.Sprintf(`{"reason":%q}`, pauseReason))
	held := make(chan struct{})
	go func() {
		defer close(held)
		done := make(chan struct{}, clients)
		for range clients {
			go func() {
				r := cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 16, false))
				if r.Err == nil {
					judgeChat(ta, r) // answered before the kill: it must have succeeded
				} else {
					lost.Add(1)
				}
				done <- struct{}{}
			}()
		}
		for range clients {
			<-done
		}
	}()
	c.Eventually("32 requests held by the pause", 20*time.Second, func() bool { return c.intervention().Counters.Waiting == clients })
	if err := c.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Wait(30 * time.Second); !ok {
		t.Fatal("custos not reaped within 30s of SIGKILL")
	}
	proctest.Receive(t, "the held requests to end with the killed custos", cl.http.Timeout+30*time.Second, held)

	c2 := startCustos(t, cfg)
	st := c2.intervention()
	if !st.Paused || st.State.Global == nil || st.State.Global.Reason != pauseReason {
		t.Fatalf("custos came back without its pause: %+v", st)
	}
	c2.Eventually("the killed custos's backend is gone", 10*time.Second, func() bool {
		return syscall.Kill(oldBackend, 0) != nil
	})
	c2.waitState("tiny", "ready", 60*time.Second)

	until := time.Now().Add(duration)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runClients(clients, until, func(int) {
			judgeChat(ta, cl.post(context.Background(), c2.URL("/v1/chat/completions"), chatBody("tiny", 16, false)))
		})
	}()
	c2.Eventually("the new requests held by the restored pause", 20*time.Second, func() bool {
		return c2.intervention().Counters.Waiting == clients
	})
	c2.admin("/admin/resume", `{}`)
	c2.clientsDone(cl, until, done)
	report(t, ta, c2.retries(), fmt.Sprintf("came back paused (%q); %d held requests died with the killed process", pauseReason, lost.Load()))
	if ta.failed.Load() != 0 {
		t.Fatalf("%d requests failed, e.g. %q", ta.failed.Load(), ta.failures())
	}
	if ta.ok.Load() < clients {
		t.Fatalf("only %d requests succeeded after resume", ta.ok.Load())
	}
}
