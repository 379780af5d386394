package store

import (
	"context"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/pgtest"
)

// max_pause is one deadline for the fleet, stored with the pause: every
// replica's timer fires at it, and exactly one expiry is committed — the
// audit log holds one timer resume per pause, whichever replica wrote it.
func TestFleetMaxPauseExpiresExactlyOnceAmongThree(t *testing.T) {
	dsn := pgtest.Shared(t)
	cfg := fleetConfig()
	cfg.MaxPause = 300 * time.Millisecond
	fleet := []*replica{startReplica(t, dsn, "a", cfg), startReplica(t, dsn, "b", cfg), startReplica(t, dsn, "c", cfg)}
	const pauses = 3
	for i := range pauses {
		by := fleet[i%len(fleet)]
		res, err := by.ctl.Pause(context.Background(), intervention.GlobalScope, "short", intervention.ActorAdmin)
		if err != nil || !res.Changed {
			t.Fatalf("pause %d on %s: %+v, %v", i, by.name, res, err)
		}
		until := res.State.Global.Until
		for _, r := range fleet {
			waitFor(t, 2*time.Second, r.name+" to hold the pause", func() bool { return r.ctl.Blocks("m") || !time.Now().Before(until) })
		}
		for _, r := range fleet {
			waitFor(t, 5*time.Second, r.name+" to end the pause at its deadline", func() bool { return !r.ctl.Blocks("m") })
			if late := time.Since(until); late < 0 {
				t.Fatalf("%s ended the pause %v before its deadline", r.name, -late)
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // a straggling expiry would be written by now
	expiries := map[string]int{}
	total := 0
	for _, ev := range auditOf(t, fleet[0]) {
		if ev.Action == "resume" && ev.Actor == intervention.ActorTimer {
			expiries[ev.Replica]++
			total++
		}
	}
	t.Logf("expiries by replica: %v", expiries)
	if total != pauses {
		t.Fatalf("%d timer resumes in the audit log for %d pauses, want exactly one each: %v", total, pauses, expiries)
	}
}
