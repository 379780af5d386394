package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"custos/internal/intervention"
	"custos/internal/pgtest"
	"custos/internal/readiness"
)

func TestPostgresRoundTripAndMigrations(t *testing.T) {
	dsn := pgtest.Shared(t)
	s := openPostgres(t, dsn, "gw-1")
	if st, _ := s.Readiness(); st != readiness.Ready {
		t.Fatalf("readiness after open: %v", st)
	}
	since := time.Now().UTC().Truncate(time.Millisecond)
	want := State{Wellbeing: intervention.Distressed, Global: &intervention.Pause{Reason: "why", Since: since, Until: since.Add(time.Minute), By: "admin"}, Version: 1}
	if err := s.Record(want, intervention.Event{At: since, Action: "pause", Scope: "global", Old: "running", New: "paused", Actor: "admin"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if v := queryInt(t, dsn, "SELECT version FROM custos_schema"); v != int64(len(pgMigrations)) {
		t.Fatalf("schema version %d, want %d", v, len(pgMigrations))
	}

	again := openPostgres(t, dsn, "gw-2")
	got, err := again.Open()
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Wellbeing != intervention.Distressed || got.Global == nil || got.Global.Reason != "why" ||
		!got.Global.Since.Equal(since) || !got.Global.Until.Equal(since.Add(time.Minute)) {
		t.Fatalf("read back %+v (global %+v), want %+v", got, got.Global, want)
	}
	events, err := again.Audit(0, 10)
	if err != nil || len(events) != 1 || events[0].Replica != "gw-1" || events[0].Action != "pause" || !events[0].At.Equal(since) {
		t.Fatalf("audit: %+v, %v", events, err)
	}
}

// A database migrated by a newer custos is not understood: Failed, and
// left as it is.
func TestPostgresNewerSchemaIsFailedAndUntouched(t *testing.T) {
	dsn := pgtest.Shared(t)
	openPostgres(t, dsn, "gw-1").Close()
	execSQL(t, dsn, "UPDATE custos_schema SET version = 99")
	s := newPostgres(t, dsn, "gw-1")
	if _, err := s.Open(); !errors.Is(err, errNewerDatabase) {
		t.Fatalf("open: %v, want a newer database", err)
	}
	if st, detail := s.Readiness(); st != readiness.Failed {
		t.Fatalf("readiness %v (%s), want Failed", st, detail)
	}
	if v := queryInt(t, dsn, "SELECT version FROM custos_schema"); v != 99 {
		t.Fatalf("schema version rewritten to %d", v)
	}
}

// Two replicas deciding a change from the same version: the second finds
// the state moved on, writes nothing, and gets the newest state back.
func TestPostgresRecordIsACompareAndSet(t *testing.T) {
	dsn := pgtest.Shared(t)
	a, b := openPostgres(t, dsn, "a"), openPostgres(t, dsn, "b")
	paused := State{Global: &intervention.Pause{Reason: "by a", By: "admin"}, Version: 1}
	if err := a.Record(paused, intervention.Event{Action: "pause", Actor: "admin"}); err != nil {
		t.Fatal(err)
	}
	err := b.Record(State{Wellbeing: intervention.Concerned, Version: 1}, intervention.Event{Action: "wellbeing", Actor: "admin"})
	var conflict *intervention.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("b's record from version 0: %v, want a conflict", err)
	}
	if conflict.Newest.Version != 1 || conflict.Newest.Global == nil || conflict.Newest.Global.Reason != "by a" {
		t.Fatalf("newest state: %+v", conflict.Newest)
	}
	if n := queryInt(t, dsn, "SELECT count(*) FROM custos_audit"); n != 1 {
		t.Fatalf("%d audit rows, want a's one", n)
	}
	if st, _ := b.Readiness(); st != readiness.Ready {
		t.Fatalf("a conflict is not a failure: b is %v", st)
	}
}

// Replicas starting together on an empty database migrate it once: the
// others wait for the first and find the schema made, none fails.
func TestPostgresReplicasStartingTogetherMigrateOnce(t *testing.T) {
	dsn := pgtest.Shared(t)
	const replicas = 4
	conns := make([]*pgx.Conn, replicas)
	for i := range conns {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		conns[i] = conn
	}
	errs := make(chan error, replicas)
	start := make(chan struct{})
	for _, conn := range conns {
		go func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs <- pgMigrate(ctx, conn)
		}()
	}
	close(start)
	for range replicas {
		if err := <-errs; err != nil {
			t.Errorf("a replica migrating with the others: %v", err)
		}
	}
	if n := queryInt(t, dsn, "SELECT count(*) FROM custos_schema"); n != 1 {
		t.Fatalf("custos_schema has %d rows, want 1", n)
	}
	if v := queryInt(t, dsn, "SELECT version FROM custos_schema"); v != int64(len(pgMigrations)) {
		t.Fatalf("schema version %d, want %d", v, len(pgMigrations))
	}
}
