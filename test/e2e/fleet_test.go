package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/pgtest"
	"custos/internal/proctest"
)

// fleetMember starts a custos on the fleet's PostgreSQL database, named
// replica in its audit log.
func fleetMember(t *testing.T, replica string, extra ...string) *custos {
	t.Helper()
	return startCustos(t, "store: {driver: postgres, dsn_env: CUSTOS_PG_DSN, replica: "+replica+"}\n"+
		"models:\n"+fastModel("tiny", standinCmd(), "")+strings.Join(extra, ""))
}

// Two `custos serve` processes on one PostgreSQL database are one fleet:
// a pause made on one through /admin/pause holds a request sent to the
// other, and a resume made on the other releases it. The fleet's audit
// log names the replica of each change.
func TestFleetPauseOnOneReplicaHoldsTheOthersRequests(t *testing.T) {
	t.Setenv("CUSTOS_PG_DSN", pgtest.Start(t).DSN())
	a, b := fleetMember(t, "gw-a"), fleetMember(t, "gw-b")
	a.waitState("tiny", "ready", 20*time.Second)
	b.waitState("tiny", "ready", 20*time.Second)

	if r := proctest.Post(context.Background(), proctest.Client, a.URL("/admin/pause"), `{"reason":"fleet maintenance"}`); r.Status != 200 {
		t.Fatalf("pause on gw-a: %d %s %v", r.Status, r.Body, r.Err)
	}
	b.Eventually("gw-b to hold inference", 2*time.Second, func() bool { paused, _ := b.intervention()["paused"].(bool); return paused })
	replies := make(chan reply, 1)
	go func() { replies <- b.chat(context.Background(), "tiny", false) }()
	b.Eventually("gw-b to hold the request", 10*time.Second, func() bool { return b.waiting() == 1 })

	if r := proctest.Post(context.Background(), proctest.Client, b.URL("/admin/resume"), `{}`); r.Status != 200 {
		t.Fatalf("resume on gw-b: %d %s %v", r.Status, r.Body, r.Err)
	}
	got := proctest.Receive(t, "the held request's answer", answerWithin, replies)
	if got.Status != 200 {
		t.Fatalf("the released request: %d %s %v", got.Status, got.Body, got.Err)
	}
	a.Eventually("gw-a to see gw-b's resume", 2*time.Second, func() bool { paused, _ := a.intervention()["paused"].(bool); return !paused })

	resp, err := proctest.Client.Get(a.URL("/admin/audit"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Events []struct{ Action, Replica string } `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[0].Action != "resume" || page.Events[0].Replica != "gw-b" ||
		page.Events[1].Action != "pause" || page.Events[1].Replica != "gw-a" {
		t.Fatalf("the fleet's audit log, newest first: %+v", page.Events)
	}
	if out := b.cli(t, "audit"); !strings.Contains(out, "admin@gw-a") || !strings.Contains(out, "admin@gw-b") {
		t.Fatalf("custos audit does not name the replicas:\n%s", out)
	}
}

// A replica started while the fleet's database is down listens and says
// it is warming, but serves nothing: a request waits until the database
// is up and says inference is not paused. Then it is served. The gate's
// deadline is short, so that it is the controller that holds the request
// (before the deadline, the gate would refuse it as warming).
func TestFleetReplicaStartedWithoutItsDatabaseHoldsRequestsUntilItIsUp(t *testing.T) {
	srv := pgtest.Start(t)
	t.Setenv("CUSTOS_PG_DSN", srv.DSN())
	srv.Stop()
	c := fleetMember(t, "gw-late", "readiness: {deadline: 100ms}\n")
	c.waitState("tiny", "ready", 20*time.Second)
	c.Eventually("the gate to open past its deadline", 10*time.Second, func() bool { return c.getStatus("/readyz") == 200 })
	if restoring, _ := c.intervention()["restoring"].(bool); !restoring {
		t.Fatalf("custos without its database is not restoring: %v", c.intervention())
	}
	replies := make(chan reply, 1)
	go func() { replies <- c.chat(context.Background(), "tiny", false) }()
	c.Eventually("the request to be held", 10*time.Second, func() bool {
		select {
		case r := <-replies:
			t.Fatalf("the request was answered before custos could know whether inference is paused: %d %s", r.Status, r.Body)
		default:
		}
		return c.waiting() == 1
	})
	srv.Restart()
	got := proctest.Receive(t, "the request's answer once the database is up", answerWithin, replies)
	if got.Status != 200 {
		t.Fatalf("the request after the database came up: %d %s %v", got.Status, got.Body, got.Err)
	}
}

// SIGTERM ends a replica that is still waiting for its database: the
// wait for the control state must not keep it from shutting down.
func TestFleetReplicaWaitingForItsDatabaseShutsDownOnSIGTERM(t *testing.T) {
	srv := pgtest.Start(t)
	t.Setenv("CUSTOS_PG_DSN", srv.DSN())
	srv.Stop()
	c := fleetMember(t, "gw-stopped")
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	if _, ok := c.Wait(10 * time.Second); !ok {
		t.Fatalf("custos waiting for its database did not exit within 10s of SIGTERM\n%s", proctest.Tail(c.Output.String(), 4<<10))
	}
}
