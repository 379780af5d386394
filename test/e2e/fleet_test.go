package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"custos/internal/pgtest"
	"custos/internal/proctest"
)

// fleetMember starts a custos on the fleet's PostgreSQL database, named
// replica in its audit log.
func fleetMember(t *testing.T, replica string) *custos {
	t.Helper()
	return startCustos(t, "store: {driver: postgres, dsn_env: CUSTOS_PG_DSN, replica: "+replica+"}\n"+
		"models:\n"+fastModel("tiny", standinCmd(), ""))
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
}
