package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func query(t *testing.T, dsn, sql string) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, sql).Scan(&n)
	return n, err
}

func execSQL(t *testing.T, dsn, sql string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func TestServerRunsUnprivilegedAndSurvivesRestarts(t *testing.T) {
	start := time.Now()
	s := Start(t)
	t.Logf("initdb and start: %v", time.Since(start).Round(time.Millisecond))
	dsn := s.CreateDatabase("kept")
	if err := execSQL(t, dsn, "CREATE TABLE t AS SELECT 42 AS n"); err != nil {
		t.Fatal(err)
	}
	if n, err := query(t, s.DSN(), "SELECT (current_setting('fsync') = 'off')::int"); err != nil || n != 1 {
		t.Fatalf("fsync off: %d, %v", n, err)
	}
	port := s.Port()
	s.Stop()
	if _, err := query(t, dsn, "SELECT 1"); err == nil {
		t.Fatal("a stopped server still answers")
	}
	s.Restart()
	s.Kill()
	start = time.Now()
	s.Restart()
	t.Logf("restart after kill -9: %v", time.Since(start).Round(time.Millisecond))
	if s.Port() != port {
		t.Fatalf("port changed from %d to %d", port, s.Port())
	}
	if n, err := query(t, dsn, "SELECT n FROM t"); err != nil || n != 42 {
		t.Fatalf("data after restarts: %d, %v", n, err)
	}
}

// A server on another address (here 127.0.0.2, as a network namespace's
// would be) takes connections there.
func TestServerOnAnotherAddress(t *testing.T) {
	s := StartWith(t, Options{Host: "127.0.0.2"})
	if !strings.Contains(s.DSN(), "@127.0.0.2:") {
		t.Fatalf("DSN %s", s.DSN())
	}
	if n, err := query(t, s.DSN(), "SELECT 7"); err != nil || n != 7 {
		t.Fatalf("query on 127.0.0.2: %d, %v", n, err)
	}
}

// Tests sharing a server each get an empty database of their own.
func TestSharedGivesEachTestItsOwnDatabase(t *testing.T) {
	first, second := Shared(t), Shared(t)
	if first == second {
		t.Fatalf("two tests got the same database %s", first)
	}
	if err := execSQL(t, first, "CREATE TABLE mine (n int)"); err != nil {
		t.Fatal(err)
	}
	if n, err := query(t, second, "SELECT count(*)::int FROM pg_tables WHERE tablename = 'mine'"); err != nil || n != 0 {
		t.Fatalf("the second database sees the first's table: %d, %v", n, err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}
