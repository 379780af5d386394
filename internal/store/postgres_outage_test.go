package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/pgtest"
	"custos/internal/readiness"
)

// The database stopped under a replica: it is Degraded, holds the change
// and its events (Audit shows them), and once the database is back it
// reconnects by itself and writes them, in order.
func TestPostgresDatabaseStoppedHoldsEventsAndWritesThemAfterRestart(t *testing.T) {
	srv := pgtest.Start(t)
	s := openPostgres(t, srv.DSN(), "gw-1")
	if err := s.Record(State{Version: 1}, intervention.Event{Action: "wellbeing", Reason: "before", Actor: "admin"}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	waitReadiness(t, s, readiness.Degraded, 10*time.Second)
	paused := State{Global: &intervention.Pause{Reason: "while down", By: "admin"}, Version: 2}
	for _, reason := range []string{"first", "second"} {
		if err := s.Record(paused, intervention.Event{Action: "pause", Reason: reason, Actor: "admin"}); err == nil {
			t.Fatal("a write without the database succeeded")
		}
	}
	if _, detail := s.Readiness(); !strings.Contains(detail, "2 audit events waiting") {
		t.Fatalf("detail %q does not count the held events", detail)
	}
	held, err := s.Audit(0, 10)
	if err != nil || len(held) != 2 || held[0].Reason != "second" {
		t.Fatalf("audit while down: %+v, %v", held, err)
	}

	srv.Restart()
	waitReadiness(t, s, readiness.Ready, 10*time.Second)
	if n := queryInt(t, srv.DSN(), "SELECT count(*) FROM custos_audit"); n != 3 {
		t.Fatalf("%d audit rows after the restart, want 3", n)
	}
	events, err := s.Audit(0, 10)
	if err != nil || len(events) != 3 || events[0].Reason != "second" || events[1].Reason != "first" || events[2].Reason != "before" {
		t.Fatalf("audit after the restart, newest first: %+v, %v", events, err)
	}
	if v := queryInt(t, srv.DSN(), "SELECT version FROM custos_control_state"); v != 2 {
		t.Fatalf("the held state was not committed: version %d", v)
	}
}

// A replica that starts while the database is unreachable does not know
// whether inference is paused: Open waits, the store says Warming, and
// the state arrives once the database is up.
func TestPostgresStartWithTheDatabaseDownWaitsForIt(t *testing.T) {
	srv := pgtest.Start(t)
	openPostgres(t, srv.DSN(), "gw-0").Record(State{Global: &intervention.Pause{Reason: "kept", By: "admin"}, Version: 1})
	srv.Stop()
	s := newPostgres(t, srv.DSN(), "gw-1")
	opened := make(chan State, 1)
	go func() {
		st, err := s.Open()
		if err != nil {
			t.Error(err)
		}
		opened <- st
	}()
	select {
	case <-opened:
		t.Fatal("Open returned while the database was down")
	case <-time.After(500 * time.Millisecond):
	}
	if st, detail := s.Readiness(); st != readiness.Warming || !strings.Contains(detail, "waiting for PostgreSQL") {
		t.Fatalf("readiness while waiting: %v %q", st, detail)
	}
	srv.Restart()
	select {
	case st := <-opened:
		if st.Global == nil || st.Global.Reason != "kept" {
			t.Fatalf("opened with %+v, want the stored pause", st)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Open did not return within 15s of the database coming back")
	}
}

// The events held while the database is away are bounded: past
// pendingMax the oldest are dropped, and readiness says how many.
func TestPostgresHeldEventsAreBounded(t *testing.T) {
	srv := pgtest.Start(t)
	s := openPostgres(t, srv.DSN(), "gw-1")
	srv.Stop()
	waitReadiness(t, s, readiness.Degraded, 10*time.Second)
	for i := range pendingMax + 5 {
		_ = s.Record(State{Version: 1}, intervention.Event{Action: "wellbeing", Reason: fmt.Sprint(i), Actor: "admin"})
	}
	if _, detail := s.Readiness(); !strings.Contains(detail, fmt.Sprintf("%d audit events waiting, 5 older ones dropped", pendingMax)) {
		t.Fatalf("detail %q", detail)
	}
	held, err := s.Audit(0, pendingMax+10)
	if err != nil || len(held) != pendingMax || held[0].Reason != fmt.Sprint(pendingMax+4) || held[len(held)-1].Reason != "5" {
		t.Fatalf("held %d events (newest %v), %v; want the newest %d", len(held), held[:1], err, pendingMax)
	}
	srv.Restart()
	waitReadiness(t, s, readiness.Ready, 15*time.Second)
	if n := queryInt(t, srv.DSN(), "SELECT count(*) FROM custos_audit"); n != pendingMax {
		t.Fatalf("%d audit rows after the restart, want %d", n, pendingMax)
	}
}
