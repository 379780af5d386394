package store

import (
	"os"
	"path/filepath"
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
	events, err := s2.Audit(10)
	if err != nil || len(events) != 1 || events[0].Action != "pause" || events[0].Actor != "admin" {
		t.Fatalf("audit: %+v %v", events, err)
	}
}

func TestSQLiteAuditIsNewestFirstAndLimited(t *testing.T) {
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
	events, _ := s.Audit(2)
	if len(events) != 2 || events[0].Action != "wellbeing" || events[1].Action != "resume" {
		t.Fatalf("got %+v", events)
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
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions; covered by the e2e test with a file in place of the folder")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	s, _, err := OpenSQLite(filepath.Join(dir, "custos.db"))
	if err == nil {
		t.Fatal("want an error")
	}
	if state, _ := s.Readiness(); state != readiness.Degraded {
		t.Fatalf("got %v", state)
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
