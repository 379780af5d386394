package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/proctest"
	"custos/internal/store"

	_ "modernc.org/sqlite"
)

// lockStore holds an exclusive lock on a SQLite file, as another process
// or a slow disk would, until the returned function is called.
func lockStore(t *testing.T, path string) (unlock func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{"PRAGMA locking_mode = EXCLUSIVE", "BEGIN EXCLUSIVE", "SELECT count(*) FROM audit"} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var once bool
	unlock = func() {
		if !once {
			once = true
			_, _ = db.Exec("ROLLBACK")
			db.Close()
		}
	}
	t.Cleanup(unlock)
	return unlock
}

// While its store opens, custos already listens: /livez answers, the gate
// says state_store is Warming, and an inference request waits rather than
// being served before custos knows it was paused. Once the store opens,
// the restored pause holds the request until resume.
func TestStoreStillOpeningIsWarmingAndRequestsWait(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "custos.db")
	saved, _, err := store.OpenSQLite(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	paused := intervention.State{Global: &intervention.Pause{Reason: "paused before the restart", Since: time.Now(), By: intervention.ActorAdmin}}
	if err := saved.Record(paused, intervention.Event{At: time.Now(), Action: "pause", Scope: "global", Old: "running", New: "paused", Reason: "paused before the restart", Actor: intervention.ActorAdmin}); err != nil {
		t.Fatal(err)
	}
	saved.Close()
	unlock := lockStore(t, dbPath)

	c := startCustosConfig(t, writeConfig(t, dir, "models:\n"+fastModel("tiny", standinCmd(), "")+"readiness: {deadline: 100ms}\n"))
	// Warming, or Degraded by the gate's deadline (100 ms, past by the
	// time custos stops waiting for its store and listens) while still opening.
	if state, detail := c.storeState(); !strings.HasPrefix(detail, "opening ") || (state != "Warming" && state != "Degraded") {
		t.Fatalf("state_store = %q (%s) while its file is locked, want it still opening", state, detail)
	}
	c.waitState("tiny", "ready", 20*time.Second)
	// Past readiness.deadline the gate counts the warming store as
	// Degraded and opens: the controller is what holds requests then.
	c.Eventually("the gate to open past its deadline", 10*time.Second, func() bool { return c.getStatus("/readyz") == 200 })
	answered := make(chan reply, 1)
	go func() { answered <- c.chat(context.Background(), "tiny", false) }()
	c.Eventually("the request to be held", 10*time.Second, func() bool {
		select {
		case r := <-answered:
			t.Fatalf("the request was answered while the store was opening: %d %s", r.Status, r.Body)
		default:
		}
		return c.waiting() == 1
	})
	if out := c.cli(t, "status"); !strings.Contains(out, "HOLDING") {
		t.Fatalf("custos status does not say requests are held:\n%s", out)
	}

	unlock()
	c.Eventually("the store to open", 10*time.Second, func() bool { state, _ := c.storeState(); return state == "Ready" })
	if st := c.intervention(); st["restoring"] == true || c.waiting() != 1 {
		t.Fatalf("after the store opened, the restored pause must hold the request: %v", st)
	}
	c.cli(t, "resume")
	if r := proctest.Receive(t, "the held request's answer after resume", answerWithin, answered); r.Status != 200 {
		t.Fatalf("the held request after resume: %d %s", r.Status, r.Body)
	}
}
