package store

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"custos/internal/readiness"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// openPostgres opens a store for replica on dsn, closed when the test
// ends.
func openPostgres(t *testing.T, dsn, replica string) *Postgres {
	t.Helper()
	s := newPostgres(t, dsn, replica)
	if _, err := s.Open(); err != nil {
		t.Fatalf("opening the store of %s: %v", replica, err)
	}
	return s
}

func newPostgres(t *testing.T, dsn, replica string) *Postgres {
	t.Helper()
	s, err := NewPostgres(dsn, replica, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// execSQL runs one statement on dsn.
func execSQL(t *testing.T, dsn, statement string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, statement, args...); err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
}

// queryInt runs a query of one integer on dsn.
func queryInt(t *testing.T, dsn, query string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitFor polls cond every millisecond until it holds, failing the test
// after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", within, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitReadiness(t *testing.T, s *Postgres, want readiness.State, within time.Duration) {
	t.Helper()
	waitFor(t, within, "state_store "+want.String(), func() bool { st, _ := s.Readiness(); return st == want })
}
