package store

import (
	"context"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/pgtest"
	"custos/internal/readiness"
)

// A pause whose max_pause deadline passes while the database is down is
// ended by every replica's own timer, each holding its expiry; once the
// database is back, the fleet's log still holds exactly one expiry of it.
func TestFleetMaxPauseExpiringDuringAnOutageIsLoggedOnce(t *testing.T) {
	srv := pgtest.Start(t)
	cfg := fleetConfig()
	cfg.MaxPause = 700 * time.Millisecond
	fleet := []*replica{startReplica(t, srv.DSN(), "a", cfg), startReplica(t, srv.DSN(), "b", cfg), startReplica(t, srv.DSN(), "c", cfg)}
	res, err := fleet[0].ctl.Pause(context.Background(), intervention.GlobalScope, "short", intervention.ActorAdmin)
	if err != nil || !res.Changed {
		t.Fatalf("pause: %+v, %v", res, err)
	}
	for _, r := range fleet {
		waitFor(t, 2*time.Second, r.name+" to hold the pause", func() bool { return r.ctl.Blocks("m") })
	}
	srv.Stop()
	for _, r := range fleet {
		waitFor(t, 5*time.Second, r.name+" to end the pause at its deadline while cut off", func() bool { return !r.ctl.Blocks("m") })
	}
	srv.Restart()
	for _, r := range fleet {
		waitReadiness(t, r.store, readiness.Ready, 10*time.Second)
	}
	time.Sleep(300 * time.Millisecond) // a straggling write would be in by now
	expiries := map[string]int{}
	total := 0
	for _, ev := range auditOf(t, fleet[0]) {
		if ev.Action == "resume" && ev.Actor == intervention.ActorTimer {
			expiries[ev.Replica]++
			total++
		}
	}
	t.Logf("expiries by replica: %v", expiries)
	if total != 1 {
		t.Fatalf("%d timer resumes in the fleet's log for one pause, want exactly one: %v", total, expiries)
	}
	for _, r := range fleet {
		if r.ctl.Paused() {
			t.Fatalf("%s is paused after the database came back", r.name)
		}
	}
}
