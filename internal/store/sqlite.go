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
type SQLite struct {
	path string

	mu     sync.Mutex
	db     *sql.DB
	state  readiness.State
	detail string
}

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
func OpenSQLite(path string) (*SQLite, State, error) {
	s := &SQLite{path: path, state: readiness.Warming, detail: "opening " + path}
	st, err := s.open()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.state, s.detail = readiness.Ready, "sqlite "+path
	case errors.Is(err, errCorrupt):
		s.state, s.detail = readiness.Failed, err.Error()
	default:
		s.state, s.detail = readiness.Degraded, fmt.Sprintf("control state held in memory only: %v", err)
	}
	return s, st, err
}

// State is the control state a store holds.
type State = intervention.State

var errCorrupt = errors.New("store file is corrupt")

func (s *SQLite) open() (State, error) {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return State{}, fmt.Errorf("creating the store folder: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+s.path)
	if err != nil {
		return State{}, err
	}
	db.SetMaxOpenConns(1) // one writer; every statement is serialized anyway
	for _, pragma := range []string{"PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"} {
		if _, err := db.Exec(pragma); err != nil {
			db.Close()
			return State{}, classify(err)
		}
	}
	if err := migrate(db); err != nil {
		db.Close()
		return State{}, classify(err)
	}
	st, err := loadState(db)
	if err != nil {
		db.Close()
		return State{}, classify(err)
	}
	s.mu.Lock()
	s.db = db
	s.mu.Unlock()
	return st, nil
}

// classify tells a corrupt file from one that merely cannot be written.
func classify(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "not a database") || strings.Contains(msg, "malformed") || strings.Contains(msg, "corrupt") {
		return fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return err
}

func migrate(db *sql.DB) error {
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("store schema version %d is newer than this custos knows (%d)", version, len(migrations))
	}
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

// Record commits the new control state and its audit event in one
// transaction. A failure turns the store Degraded: the controller keeps
// the change in memory.
func (s *SQLite) Record(st State, ev intervention.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return fmt.Errorf("store is not open (%s)", s.detail)
	}
	err := s.record(st, ev)
	if err != nil {
		s.state, s.detail = readiness.Degraded, fmt.Sprintf("last write failed, control state held in memory: %v", err)
	} else if s.state == readiness.Degraded {
		s.state, s.detail = readiness.Ready, "sqlite "+s.path
	}
	return err
}

func (s *SQLite) record(st State, ev intervention.Event) error {
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
	if _, err := tx.Exec(`INSERT INTO audit (at, action, scope, old, new, reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ev.At.UTC().Format(time.RFC3339Nano), ev.Action, ev.Scope, ev.Old, ev.New, ev.Reason, ev.Actor); err != nil {
		return err
	}
	return tx.Commit()
}

// Audit returns the newest limit events, newest first.
func (s *SQLite) Audit(limit int) ([]intervention.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil, fmt.Errorf("store is not open (%s)", s.detail)
	}
	rows, err := s.db.Query(`SELECT at, action, scope, old, new, reason, actor FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intervention.Event
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
