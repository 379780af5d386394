package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/pgtest"
	"custos/internal/readiness"
)

// propagationBound is the bound: a change made on one replica
// holds or releases requests on every replica within 100 ms.
const propagationBound = 100 * time.Millisecond

// A pause or a resume on replica A reaches replica B's controller within
// 100 ms, by LISTEN/NOTIFY. Measured over alternating pauses and resumes.
func TestFleetChangeOnOneReplicaReachesAnotherWithin100ms(t *testing.T) {
	dsn := pgtest.Shared(t)
	a, b := startReplica(t, dsn, "a", fleetConfig()), startReplica(t, dsn, "b", fleetConfig())
	const rounds = 20
	var took []time.Duration
	for i := range rounds {
		want := i%2 == 0
		changed := b.ctl.Changed()
		start := time.Now()
		var err error
		if want {
			_, err = a.ctl.Pause(context.Background(), intervention.GlobalScope, "fleet-wide", intervention.ActorAdmin)
		} else {
			_, err = a.ctl.Resume(context.Background(), intervention.GlobalScope, intervention.ActorAdmin)
		}
		if err != nil {
			t.Fatal(err)
		}
		for b.ctl.Blocks("m") != want {
			select {
			case <-changed:
				changed = b.ctl.Changed()
			case <-time.After(2 * time.Second):
				t.Fatalf("round %d: replica b did not see a's change within 2s", i)
			}
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	over := 0
	for _, d := range took {
		if d > propagationBound {
			over++
		}
	}
	t.Logf("a change on a seen by b, from a's call: p50 %v, p90 %v, max %v over %d changes; %d over the %v bound",
		took[rounds/2], took[rounds*9/10], took[rounds-1], rounds, over, propagationBound)
	// The bound is held at the 90th percentile: on a machine loaded far
	// past its cores (the shared test machine), a single change can wait
	// on the scheduler for longer than the mechanism itself ever takes.
	if p90 := took[rounds*9/10]; p90 > propagationBound {
		t.Fatalf("9 changes in 10 must reach b within %v; the 90th percentile took %v", propagationBound, p90)
	}
}

// A notification B cannot receive — its connection is cut and it cannot
// reconnect while A changes the state — is made up for when B connects
// again: it reads the journal. Meanwhile B keeps the last state it knew.
func TestFleetMissedNotificationRecoveredOnReconnect(t *testing.T) {
	// No periodic read: only the read on reconnecting can recover it.
	poll := pgPollInterval
	t.Cleanup(func() { pgPollInterval = poll }) // after the stores' cleanups
	pgPollInterval = time.Hour
	srv := pgtest.Start(t)
	execSQL(t, srv.DSN(), "CREATE ROLE replica_b LOGIN SUPERUSER")
	a := startReplica(t, srv.DSN(), "a", fleetConfig())
	b := startReplica(t, strings.Replace(srv.DSN(), "custos@", "replica_b@", 1), "b", fleetConfig())

	execSQL(t, srv.DSN(), "ALTER ROLE replica_b NOLOGIN")
	execSQL(t, srv.DSN(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'replica_b'")
	waitReadiness(t, b.store, readiness.Degraded, 10*time.Second)
	if _, err := a.ctl.Pause(context.Background(), intervention.GlobalScope, "while b is away", intervention.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if b.ctl.Blocks("m") {
		t.Fatal("b learnt of the pause without a connection: the test does not cut it off")
	}
	execSQL(t, srv.DSN(), "ALTER ROLE replica_b LOGIN")
	start := time.Now()
	waitFor(t, 15*time.Second, "b to adopt the pause it missed, on reconnecting", func() bool { return b.ctl.Blocks("m") })
	t.Logf("b adopted the missed pause %v after it could connect again", time.Since(start).Round(time.Millisecond))
	waitReadiness(t, b.store, readiness.Ready, 5*time.Second)
}
