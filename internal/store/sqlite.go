package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"custos/internal/intervention"
	"custos/internal/readiness"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// SQLite is the durable store: one file in WAL mode, synchronous=FULL so a
// change is on disk before it is acknowledged, schema versioned with
// PRAGMA user_version. It never resets or rewrites a file it cannot read.
//
// When the file cannot be written, the store is Degraded: it holds the
// audit events it could not write, answers Audit from them, and writes
// them with the next change that succeeds, so an outage loses nothing
// that custos lives through.
type SQLite struct {
	path string

	mu      sync.Mutex
	db      *sql.DB
	state   readiness.State
	detail  string
	pending []intervention.Event // audit events not written yet, oldest first
}

// pendingMax bounds the audit events held while the file cannot be written.
const pendingMax = 10000

// migrations bring the schema from version i to i+1. Append only.
var migrations = []string{
	`CREATE TABLE control_state (
		id    INTEGER PRIMARY KEY CHECK (id = 1),
		state TEXT NOT NULL
	);
	CREATE TABLE audit (
		id     INTEGER PRIMARY KEY AUTOINCREMENT,
		at     TEXT NOT NULL,
		action TEXT NOT NULL,
		scope  TEXT NOT NULL,
		old    TEXT NOT NULL,
		new    TEXT NOT NULL,
		reason TEXT NOT NULL,
		actor  TEXT NOT NULL
	);`,
}

// OpenSQLite opens (creating if needed) the store at path. A store that
// cannot be written is returned Degraded and keeps answering from memory;
// a corrupt file is Failed, and an error says so. The returned store is
// never nil, so the gate can always report it.
//
// A file that can be read but not written still gives its saved control
// state: custos paused before must not come back unpaused because its
// disk turned read-only.
func OpenSQLite(path string) (*SQLite, State, error) {
	s := NewSQLite(path)
	st, err := s.Open()
	return s, st, err
}

// NewSQLite returns the store at path, not opened yet: Warming until Open
// returns.
func NewSQLite(path string) *SQLite {
	return &SQLite{path: path, state: readiness.Warming, detail: "opening " + path}
}

// Open opens the file (see OpenSQLite) and returns the control state it
// holds. Call it once.
func (s *SQLite) Open() (State, error) {
	db, st, err := open(s.path)
	s.mu.Lock()
	defer s.mu.Unlock()
	path := s.path
	switch {
	case err == nil:
		s.db = db
		s.state, s.detail = readiness.Ready, "sqlite "+path
	case errors.Is(err, errCorrupt), errors.Is(err, errNewerSchema):
		s.state, s.detail = readiness.Failed, err.Error()
	default:
		s.state, s.detail = readiness.Degraded, fmt.Sprintf("control state held in memory only: %v", err)
		saved, rerr := readSaved(path)
		if rerr != nil {
			s.detail += fmt.Sprintf("; the saved control state could not be read either: %v", rerr)
		}
		st = saved
	}
	return st, err
}

// readSaved reads the control state of a store that cannot be opened for
// writing: read-only, or, where SQLite cannot even keep its shared-memory
// file beside it, as an immutable file. No file is no state.
func readSaved(path string) (State, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return State{}, nil
	}
	var firstErr error
	for _, dsn := range []string{"file:" + path + "?mode=ro", "file:" + path + "?immutable=1"} {
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return State{}, err
		}
		st, err := loadState(db)
		db.Close()
		if err == nil {
			return st, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return State{}, firstErr
}

// State is the control state a store holds.
type State = intervention.State

var (
	errCorrupt     = errors.New("store file is corrupt")
	errNewerSchema = errors.New("store file is from a newer custos")
)

// open opens the store file for writing, migrating its schema, and reads
// its control state.
func open(path string) (*sql.DB, State, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, State{}, fmt.Errorf("creating the store folder: %w", err)
	}
	// busy_timeout in the name applies to every connection, from the
	// first statement: a file another process holds locked is waited for.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, State{}, err
	}
	db.SetMaxOpenConns(1) // one writer; every statement is serialized anyway
	// The schema version is read before anything is written: a file from a
	// newer custos is left exactly as it is.
	var version int
	err = db.QueryRow("PRAGMA user_version").Scan(&version)
	if err == nil && version > len(migrations) {
		err = fmt.Errorf("%w: schema version %d, this custos knows up to %d", errNewerSchema, version, len(migrations))
	}
	if err != nil {
		db.Close()
		return nil, State{}, classify(err)
	}
	for _, pragma := range []string{"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"} {
		if _, err := db.Exec(pragma); err != nil {
			db.Close()
			return nil, State{}, classify(err)
		}
	}
	if err := migrate(db, version); err != nil {
		db.Close()
		return nil, State{}, classify(err)
	}
	st, err := loadState(db)
	if err != nil {
		db.Close()
		return nil, State{}, classify(err)
	}
	return db, st, nil
}

// classify tells a corrupt file from one that merely cannot be written.
func classify(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "not a database") || strings.Contains(msg, "malformed") || strings.Contains(msg, "corrupt") {
		return fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return err
}

// migrate brings the schema from version to the newest.
func migrate(db *sql.DB, version int) error {
	for v := version; v < len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func loadState(db *sql.DB) (State, error) {
	var raw string
	err := db.QueryRow("SELECT state FROM control_state WHERE id = 1").Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return State{}, fmt.Errorf("%w: control_state is not valid JSON: %v", errCorrupt, err)
	}
	return st, nil
}

var _ Store = (*SQLite)(nil)

// Kind returns "sqlite".
func (s *SQLite) Kind() string { return "sqlite" }

// Readiness is the state_store subsystem's state.
func (s *SQLite) Readiness() (readiness.State, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.detail
}

// Record commits the new control state with its audit event, and any
// events held from earlier failed writes, in one transaction. A store that
// could not be opened is opened again first (never one that is corrupt).
// On failure the store is Degraded and holds the event: the controller
// keeps the change in memory.
func (s *SQLite) Record(st State, ev intervention.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.reopen()
	if err == nil {
		err = s.record(st, append(s.pending, ev))
	}
	if err != nil {
		if len(s.pending) == pendingMax {
			s.pending = append(s.pending[:0], s.pending[1:]...)
		}
		s.pending = append(s.pending, ev)
		if s.state != readiness.Failed {
			s.state, s.detail = readiness.Degraded, fmt.Sprintf("last write failed, control state held in memory (%d audit events waiting): %v", len(s.pending), err)
		}
		return err
	}
	s.pending = nil
	s.state, s.detail = readiness.Ready, "sqlite "+s.path
	return nil
}

// reopen opens a store that could not be opened before. Callers hold mu.
func (s *SQLite) reopen() error {
	switch {
	case s.db != nil:
		return nil
	case s.state == readiness.Failed, s.state == readiness.Warming:
		return fmt.Errorf("store is not open (%s)", s.detail)
	}
	db, _, err := open(s.path)
	if err != nil {
		return fmt.Errorf("store is not open: %w", err)
	}
	s.db = db
	return nil
}

func (s *SQLite) record(st State, events []intervention.Event) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO control_state (id, state) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state`, string(raw)); err != nil {
		return err
	}
	for _, ev := range events {
		if _, err := tx.Exec(`INSERT INTO audit (at, action, scope, old, new, reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ev.At.UTC().Format(time.RFC3339Nano), ev.Action, ev.Scope, ev.Old, ev.New, ev.Reason, ev.Actor); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Audit returns the newest limit events, newest first: those held in
// memory, then those in the file. With the file not open, only the held
// ones.
func (s *SQLite) Audit(limit int) ([]intervention.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []intervention.Event
	for i := len(s.pending) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.pending[i])
	}
	if s.db == nil || len(out) == limit {
		return out, nil
	}
	rows, err := s.db.Query(`SELECT at, action, scope, old, new, reason, actor FROM audit ORDER BY id DESC LIMIT ?`, limit-len(out))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ev intervention.Event
		var at string
		if err := rows.Scan(&at, &ev.Action, &ev.Scope, &ev.Old, &ev.New, &ev.Reason, &ev.Actor); err != nil {
			return nil, err
		}
		ev.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Close closes the file.
func (s *SQLite) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}
