package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/readiness"
)

// uriChars holds what a SQLite URI gives a meaning to: '?' starts its
// parameters, '#' its fragment, "%41" reads as "A", and a space is escaped.
const uriChars = "a ?b#c%41d"

// names lists the entries of dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// A store path is a file name, not a URI: the store opens, records and
// reads back at exactly that path, whatever characters it holds, and
// creates nothing anywhere else.
func TestSQLitePathWithURICharactersIsTakenLiterally(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store "+uriChars)
	path := filepath.Join(dir, "custos "+uriChars+".db")
	s, _, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if state, detail := s.Readiness(); state != readiness.Ready {
		t.Fatalf("store at %q: %v %s", path, state, detail)
	}
	paused := intervention.State{Global: &intervention.Pause{Reason: "odd path", Since: time.Now().Truncate(time.Millisecond), By: "admin"}}
	if err := s.Record(paused, event("pause")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		t.Fatalf("the store file is not at %q: %v", path, err)
	}
	if got := names(t, parent); !slices.Equal(got, []string{filepath.Base(dir)}) {
		t.Fatalf("beside the store's folder: %q, want only %q", got, filepath.Base(dir))
	}
	base := filepath.Base(path)
	for _, n := range names(t, dir) {
		if n != base && n != base+"-wal" && n != base+"-shm" {
			t.Fatalf("unexpected file %q beside the store %q", n, base)
		}
	}
	// The read-only reading of a store that cannot be written, on the same path.
	saved, err := readSaved(path)
	if err != nil || saved.Global == nil || saved.Global.Reason != "odd path" {
		t.Fatalf("readSaved(%q) = %+v, %v; want the pause", path, saved, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, got, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got.Global == nil || got.Global.Reason != "odd path" {
		t.Fatalf("reopened at %q: state %+v, want the pause", path, got)
	}
}

// A read-only store whose newest change is still in its write-ahead log is
// read from a private copy (see readSaved); that copy keeps the file's name,
// characters a URI gives a meaning to included.
func TestSQLiteReadOnlyStoreWithURICharactersReadsItsCopy(t *testing.T) {
	live := filepath.Join(t.TempDir(), "custos.db")
	s, _, err := OpenSQLite(live)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // open until the end, so the pause stays in the log
	paused := intervention.State{Global: &intervention.Pause{Reason: "in the log", Since: time.Now(), By: "admin"}}
	if err := s.Record(paused, event("pause")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(live + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("the pause must still be in the log for this test: %v", err)
	}
	mount, mounted := mountFolder(t)
	dir := filepath.Join(mount, "store "+uriChars)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "custos "+uriChars+".db")
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(live+suffix, path+suffix); err != nil {
			t.Fatal(err)
		}
	}
	if mounted {
		freezeFolder(t, mount, true)
	} else {
		freezeFolder(t, dir, false)
	}
	ro, got, err := OpenSQLite(path)
	if err == nil {
		t.Fatal("want an error opening a read-only store for writing")
	}
	defer ro.Close()
	if state, detail := ro.Readiness(); state != readiness.Degraded || got.Global == nil || got.Global.Reason != "in the log" {
		t.Fatalf("store at %q: %v (%s), state %+v; want Degraded with the pause in the log", path, state, detail, got)
	}
}
