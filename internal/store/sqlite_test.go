package store

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/readiness"
)

func event(action string) intervention.Event {
	return intervention.Event{At: time.Now(), Action: action, Scope: "global", Old: "running", New: "paused", Reason: "why", Actor: "admin"}
}

func TestSQLiteStatePersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "custos.db")
	s, st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Global != nil {
		t.Fatal("a new store must hold no pause")
	}
	if state, _ := s.Readiness(); state != readiness.Ready {
		t.Fatalf("open store: %v", state)
	}
	since := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	want := intervention.State{Wellbeing: intervention.Distressed, Global: &intervention.Pause{Reason: "why", Since: since, By: "admin"}}
	if err := s.Record(want, event("pause")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, got, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got.Global == nil || got.Global.Reason != "why" || !got.Global.Since.Equal(since) || got.Wellbeing != intervention.Distressed {
		t.Fatalf("state not restored: %+v", got)
	}
	events, err := s2.Audit(0, 10)
	if err != nil || len(events) != 1 || events[0].Action != "pause" || events[0].Actor != "admin" {
		t.Fatalf("audit: %+v %v", events, err)
	}
}

func TestSQLiteAuditIsNewestFirstAndPaged(t *testing.T) {
	s, _, err := OpenSQLite(filepath.Join(t.TempDir(), "custos.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, a := range []string{"pause", "resume", "wellbeing"} {
		if err := s.Record(intervention.State{}, event(a)); err != nil {
			t.Fatal(err)
		}
	}
	events, _ := s.Audit(0, 2)
	if len(events) != 2 || events[0].Action != "wellbeing" || events[1].Action != "resume" {
		t.Fatalf("got %+v", events)
	}
	if events, _ = s.Audit(1, 5); len(events) != 2 || events[0].Action != "resume" || events[1].Action != "pause" {
		t.Fatalf("second page: %+v", events)
	}
}

func TestSQLiteCorruptFileIsFailedAndLeftAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custos.db")
	garbage := []byte("this is not a database, and custos must not overwrite it ................................................................")
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	s, _, err := OpenSQLite(path)
	if err == nil {
		t.Fatal("want an error for a corrupt file")
	}
	if state, detail := s.Readiness(); state != readiness.Failed {
		t.Fatalf("corrupt store: %v %s", state, detail)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(garbage) {
		t.Fatal("the corrupt file was modified")
	}
}

func TestSQLiteReadOnlyFolderIsDegraded(t *testing.T) {
	dir, mounted := mountFolder(t)
	freezeFolder(t, dir, mounted)
	s, st, err := OpenSQLite(filepath.Join(dir, "custos.db"))
	if err == nil {
		t.Fatal("want an error")
	}
	defer s.Close()
	if state, _ := s.Readiness(); state != readiness.Degraded || st.Global != nil {
		t.Fatalf("got %v, state %+v", state, st)
	}
}

func TestSQLiteUnwritablePathIsDegraded(t *testing.T) {
	// A regular file where the folder should be: no one can create the
	// store there, root included.
	blocker := filepath.Join(t.TempDir(), "not-a-folder")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, _, err := OpenSQLite(filepath.Join(blocker, "custos.db"))
	if err == nil {
		t.Fatal("want an error")
	}
	if state, detail := s.Readiness(); state != readiness.Degraded {
		t.Fatalf("got %v %s", state, detail)
	}
	if err := s.Record(intervention.State{}, event("pause")); err == nil {
		t.Fatal("recording into an unopened store must fail")
	}
}

// freezeFolder makes dir, with what it holds, unwritable: remounted
// read-only when running as root (root ignores permission bits), modes
// 0500 and 0400 otherwise. mounted is true when dir was mounted by
// mountFolder.
func freezeFolder(t *testing.T, dir string, mounted bool) {
	t.Helper()
	if mounted {
		if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
			t.Fatalf("remounting read-only: %v\n%s", err, out)
		}
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
}

// mountFolder returns a new folder for a store; as root, a tmpfs of its
// own that freezeFolder can remount read-only.
func mountFolder(t *testing.T) (dir string, mounted bool) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return dir, false
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir, true
}

// A store that turned read-only still gives back its saved pause, so a
// custos paused before does not come back unpaused; what happens
// meanwhile is held, not lost.
func TestSQLiteReadOnlyStoreKeepsTheSavedPause(t *testing.T) {
	dir, mounted := mountFolder(t)
	path := filepath.Join(dir, "custos.db")
	s, _, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	saved := intervention.State{Global: &intervention.Pause{Reason: "why", Since: time.Now().Truncate(time.Millisecond), By: "admin"}}
	if err := s.Record(saved, event("pause")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	freezeFolder(t, dir, mounted)

	ro, got, err := OpenSQLite(path)
	if err == nil {
		t.Fatal("want an error opening a read-only store for writing")
	}
	defer ro.Close()
	if state, detail := ro.Readiness(); state != readiness.Degraded {
		t.Fatalf("read-only store: %v %s", state, detail)
	}
	if got.Global == nil || got.Global.Reason != "why" {
		t.Fatalf("the saved pause was not restored: %+v", got)
	}
	if err := ro.Record(intervention.State{}, event("resume")); err == nil {
		t.Fatal("a write into a read-only store must fail")
	}
	events, err := ro.Audit(0, 10)
	if err != nil || len(events) != 1 || events[0].Action != "resume" {
		t.Fatalf("the held event must be in the audit log: %+v %v", events, err)
	}
}

// Events recorded while the store cannot be written are written, in
// order, by the first write that succeeds.
func TestSQLiteHeldEventsAreWrittenOnceWritable(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(parent, nil, 0o600); err != nil { // a file where the folder should be
		t.Fatal(err)
	}
	path := filepath.Join(parent, "custos.db")
	s, _, err := OpenSQLite(path)
	if err == nil {
		t.Fatal("want an error")
	}
	defer s.Close()
	if err := s.Record(intervention.State{}, event("pause")); err == nil {
		t.Fatal("want the write to fail")
	}
	if state, detail := s.Readiness(); state != readiness.Degraded || !strings.Contains(detail, "1 audit events waiting") {
		t.Fatalf("got %v %s", state, detail)
	}
	if err := os.Remove(parent); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(intervention.State{Wellbeing: intervention.Concerned}, event("wellbeing")); err != nil {
		t.Fatalf("the store is writable again: %v", err)
	}
	if state, _ := s.Readiness(); state != readiness.Ready {
		t.Fatalf("got %v", state)
	}
	s.Close()
	again, st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	events, _ := again.Audit(0, 10)
	if len(events) != 2 || events[0].Action != "wellbeing" || events[1].Action != "pause" || st.Wellbeing != intervention.Concerned {
		t.Fatalf("events %+v, state %+v", events, st)
	}
}

func TestSQLiteIsWALAtTheNewestSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custos.db")
	s, _, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var version int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q %v", mode, err)
	}
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("user_version %d %v, want %d", version, err, len(migrations))
	}
}

// A file written by a newer custos is not understood: Failed, and left
// as it is.
func TestSQLiteNewerSchemaIsFailedAndLeftAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custos.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	s, _, err := OpenSQLite(path)
	if err == nil {
		t.Fatal("want an error")
	}
	defer s.Close()
	if state, detail := s.Readiness(); state != readiness.Failed || !strings.Contains(detail, "newer") {
		t.Fatalf("got %v %s", state, detail)
	}
	if err := s.Record(intervention.State{}, event("pause")); err == nil {
		t.Fatal("a Failed store must not be written")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("the file was modified")
	}
}

func TestNewSQLiteIsWarmingUntilOpened(t *testing.T) {
	s := NewSQLite(filepath.Join(t.TempDir(), "custos.db"))
	defer s.Close()
	if state, _ := s.Readiness(); state != readiness.Warming {
		t.Fatalf("before Open: %v", state)
	}
	if _, err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if state, _ := s.Readiness(); state != readiness.Ready {
		t.Fatalf("after Open: %v", state)
	}
}

// After a crash the newest changes may still be in the write-ahead log. A
// store that then turned read-only, with no shared-memory file beside it,
// still reads them: from a private copy of the file and its log.
func TestSQLiteReadOnlyStoreReadsChangesStillInTheLog(t *testing.T) {
	live := filepath.Join(t.TempDir(), "custos.db")
	s, _, err := OpenSQLite(live)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // open until the end, as a killed process would leave it: nothing checkpointed
	paused := intervention.State{Global: &intervention.Pause{Reason: "in the log", Since: time.Now(), By: "admin"}}
	if err := s.Record(paused, event("pause")); err != nil {
		t.Fatal(err)
	}
	dir, mounted := mountFolder(t)
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(live+suffix, filepath.Join(dir, "custos.db"+suffix)); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := os.Stat(live + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("the pause must still be in the log for this test: %v", err)
	}
	freezeFolder(t, dir, mounted)
	ro, got, err := OpenSQLite(filepath.Join(dir, "custos.db"))
	if err == nil {
		t.Fatal("want an error opening a read-only store for writing")
	}
	defer ro.Close()
	if state, detail := ro.Readiness(); state != readiness.Degraded || got.Global == nil || got.Global.Reason != "in the log" {
		t.Fatalf("got %v (%s), state %+v: the pause in the log was not read", state, detail, got)
	}
}

// A store that can be neither opened nor read is Failed: custos does not
// serve without knowing whether it was paused.
func TestSQLiteUnreadableSavedStateIsFailed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custos.db")
	if err := os.Mkdir(path, 0o700); err != nil { // a folder where the file should be
		t.Fatal(err)
	}
	s, _, err := OpenSQLite(path)
	if err == nil {
		t.Fatal("want an error")
	}
	defer s.Close()
	if state, detail := s.Readiness(); state != readiness.Failed {
		t.Fatalf("got %v %s", state, detail)
	}
}

// A closed store is not opened again by a late change (a max_pause timer
// firing during shutdown).
func TestSQLiteClosedIsNotReopened(t *testing.T) {
	s, _, err := OpenSQLite(filepath.Join(t.TempDir(), "custos.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Record(intervention.State{}, event("resume")); err == nil {
		t.Fatal("a closed store accepted a write")
	}
}
