package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/pgtest"
	"custos/internal/readiness"
)

// A replica that starts while the database is down does not know whether
// the fleet is paused: its controller stays restoring and holds every
// request until the database is up and says. Here the fleet was paused,
// so the request is still held after the state arrives, and released by a
// resume on another replica.
func TestFleetReplicaStartingWithTheDatabaseDownHoldsRequestsUntilItIsUp(t *testing.T) {
	srv := pgtest.Start(t)
	a := startReplica(t, srv.DSN(), "a", fleetConfig())
	if _, err := a.ctl.Pause(context.Background(), intervention.GlobalScope, "before b started", intervention.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	s := newPostgres(t, srv.DSN(), "b")
	b := intervention.NewRestoring(fleetConfig(), s, quietLog)
	s.SetFollower(b.Adopt)
	t.Cleanup(b.Close)
	go func() {
		if st, err := s.Open(); err == nil {
			b.Restore(st)
		}
	}()
	released := make(chan error, 1)
	go func() { released <- b.Wait(context.Background(), "m", intervention.Hold{}) }()
	select {
	case err := <-released:
		t.Fatalf("a request went through b while it could not know whether the fleet is paused: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if !b.Restoring() {
		t.Fatal("b is not restoring while the database is down")
	}
	srv.Restart()
	waitReadiness(t, s, readiness.Ready, 10*time.Second)
	waitFor(t, 5*time.Second, "a to reconnect", func() bool { st, _ := a.store.Readiness(); return st == readiness.Ready })
	waitFor(t, 5*time.Second, "b to take the state it read back", func() bool { return !b.Restoring() })
	if !b.Paused() {
		t.Fatalf("b after the database came back: restoring %v, paused %v; want the fleet's pause", b.Restoring(), b.Paused())
	}
	select {
	case err := <-released:
		t.Fatalf("the fleet is paused, yet b released the request: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if res, err := a.ctl.Resume(context.Background(), intervention.GlobalScope, intervention.ActorAdmin); err != nil || !res.Durable {
		t.Fatalf("a's resume after the database came back: %+v, %v; want it committed", res, err)
	}
	select {
	case err := <-released:
		if err != nil {
			t.Fatalf("released with %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a's resume did not release b's request within 2s")
	}
}

// A pause made on a replica while the database is stopped takes effect
// there at once (not durable), is held, and reaches the rest of the fleet
// when the database is back; its audit event is written once.
func TestFleetPauseMadeWhileTheDatabaseIsDownReachesTheFleetAfterIt(t *testing.T) {
	srv := pgtest.Start(t)
	a, b := startReplica(t, srv.DSN(), "a", fleetConfig()), startReplica(t, srv.DSN(), "b", fleetConfig())
	srv.Stop()
	waitReadiness(t, a.store, readiness.Degraded, 10*time.Second)
	res, err := a.ctl.Pause(context.Background(), intervention.GlobalScope, "during the outage", intervention.ActorAdmin)
	if err != nil || !res.Changed || res.Durable {
		t.Fatalf("pause without the database: %+v, %v; want changed, not durable", res, err)
	}
	if !a.ctl.Blocks("m") || b.ctl.Blocks("m") {
		t.Fatalf("during the outage: a blocks %v (want true), b blocks %v (want false: it cannot know)", a.ctl.Blocks("m"), b.ctl.Blocks("m"))
	}
	srv.Restart()
	waitFor(t, 15*time.Second, "b to adopt a's held pause once the database is back", func() bool { return b.ctl.Blocks("m") })
	waitReadiness(t, a.store, readiness.Ready, 5*time.Second)
	pauses := 0
	for _, ev := range auditOf(t, b) {
		if ev.Action == "pause" && ev.Replica == "a" {
			pauses++
		}
	}
	if pauses != 1 {
		t.Fatalf("%d pause events by a in the audit log, want 1", pauses)
	}
}

// A replica cut off from the database while the rest of the fleet is
// not: its change holds locally, and when it connects again after the
// fleet's state moved, the fleet's state wins — it adopts it — while its
// held event is still written, so the log says what it did meanwhile.
func TestFleetReplicaCutOffAdoptsTheFleetsStateAndKeepsItsEvents(t *testing.T) {
	srv := pgtest.Start(t)
	execSQL(t, srv.DSN(), "CREATE ROLE replica_a LOGIN SUPERUSER")
	a := startReplica(t, strings.Replace(srv.DSN(), "custos@", "replica_a@", 1), "a", fleetConfig())
	b := startReplica(t, srv.DSN(), "b", fleetConfig())
	execSQL(t, srv.DSN(), "ALTER ROLE replica_a NOLOGIN")
	execSQL(t, srv.DSN(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'replica_a'")
	waitReadiness(t, a.store, readiness.Degraded, 10*time.Second)
	res, err := a.ctl.Pause(context.Background(), "model-a", "while cut off", intervention.ActorAdmin)
	if err != nil || !res.Changed || res.Durable {
		t.Fatalf("a's pause while cut off: %+v, %v; want changed, not durable", res, err)
	}
	if _, err := b.ctl.UpdateWellbeing(context.Background(), intervention.Cautious, "meanwhile", intervention.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	execSQL(t, srv.DSN(), "ALTER ROLE replica_a LOGIN")
	waitFor(t, 10*time.Second, "a to adopt the fleet's state", func() bool { return a.ctl.State().Wellbeing == intervention.Cautious })
	waitReadiness(t, a.store, readiness.Ready, 5*time.Second)
	if a.ctl.Blocks("model-a") || b.ctl.Blocks("model-a") {
		t.Fatal("the held pause overwrote the fleet's newer state")
	}
	var aPauses int
	for _, ev := range auditOf(t, b) {
		if ev.Replica == "a" && ev.Action == "pause" && ev.Reason == "while cut off" {
			aPauses++
		}
	}
	if aPauses != 1 {
		t.Fatalf("a's held pause is %d times in the audit log, want once", aPauses)
	}
}
