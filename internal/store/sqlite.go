package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

	// ready is the subsystem's state, apart from mu so the gate reads it
	// without waiting on a write or an open in progress.
	ready atomic.Pointer[storeReadiness]

	mu      sync.Mutex
	db      *sql.DB
	closed  bool
	pending []intervention.Event // audit events not written yet, oldest first
	dropped int                  // held events dropped past pendingMax, oldest first
}

type storeReadiness struct {
	state  readiness.State
	detail string
}

func (s *SQLite) setReadiness(state readiness.State, detail string) {
	s.ready.Store(&storeReadiness{state: state, detail: detail})
}

// BusyTimeout is how long a statement waits for a file another connection
// holds locked; reopenBusyTimeout is the shorter wait of a reopen attempt,
// which runs while a control change waits for it.
const (
	BusyTimeout       = 5 * time.Second
	reopenBusyTimeout = 100 * time.Millisecond
)

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
	s := &SQLite{path: path}
	s.setReadiness(readiness.Warming, "opening "+path)
	return s
}

// Open opens the file (see OpenSQLite) and returns the control state it
// holds. Call it once.
//
// A file that cannot be opened for writing and whose saved state cannot
// be read either is Failed: custos does not serve without knowing whether
// it was paused.
func (s *SQLite) Open() (State, error) {
	db, st, err := open(s.path, BusyTimeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.db = db
		s.setReadiness(readiness.Ready, "sqlite "+s.path)
	case errors.Is(err, errCorrupt), errors.Is(err, errNewerSchema):
		s.setReadiness(readiness.Failed, err.Error())
	default:
		saved, rerr := readSaved(s.path)
		if rerr != nil {
			s.setReadiness(readiness.Failed, fmt.Sprintf("cannot open the store (%v), nor read the control state saved in it (%v)", err, rerr))
			return State{}, err
		}
		s.setReadiness(readiness.Degraded, fmt.Sprintf("control state held in memory only: %v", err))
		st = saved
	}
	return st, err
}

// readSaved reads the control state of a store that cannot be opened for
// writing. It reads the file read-only, or, where SQLite cannot do that
// (a read-only folder with a write-ahead log but no shared-memory file
// beside it), from a private copy of the file and its log, so that changes
// still in the log are read too. No file is no state.
func readSaved(path string) (State, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return State{}, nil
	}
	st, err := loadFrom(fileURI(path, url.Values{"mode": {"ro"}, "_pragma": {fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds())}}))
	if err == nil {
		return st, nil
	}
	dir, cerr := os.MkdirTemp("", "custos-store-copy")
	if cerr != nil {
		return State{}, err
	}
	defer os.RemoveAll(dir)
	copyPath := filepath.Join(dir, filepath.Base(path))
	for _, suffix := range []string{"", "-wal"} {
		if cerr := copyFile(path+suffix, copyPath+suffix); cerr != nil && !(suffix != "" && errors.Is(cerr, os.ErrNotExist)) {
			return State{}, fmt.Errorf("%v; copying it to read it: %v", err, cerr)
		}
	}
	copied, cerr := loadFrom(fileURI(copyPath, nil))
	if cerr != nil {
		return State{}, fmt.Errorf("%v; reading a copy: %v", err, cerr)
	}
	return copied, nil
}

// fileURI is the driver's name for the database file at path, with SQLite
// URI parameters. The driver hands a name starting with "file:" to SQLite
// whole, as a URI (SQLITE_OPEN_URI), and takes its own parameters
// (_pragma) from everything after the first '?'; SQLite ends the path at
// the first '?' or '#' and decodes %HH escapes in it. So the path goes in
// escaped, and the only bare '?' is the one before the parameters. The
// host part is left out, "file:/abs" or "file:rel", so that no path can
// read as an authority; Clean turns a leading "//" into "/".
func fileURI(path string, params url.Values) string {
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.Clean(path), RawQuery: params.Encode()}
	return u.String()
}

func loadFrom(dsn string) (State, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return State{}, err
	}
	defer db.Close()
	return loadState(db)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// State is the control state a store holds.
type State = intervention.State

var (
	errCorrupt     = errors.New("store file is corrupt")
	errNewerSchema = errors.New("store file is from a newer custos")
)

// open opens the store file for writing, migrating its schema, and reads
// its control state; statements wait up to busy for a locked file.
func open(path string, busy time.Duration) (*sql.DB, State, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, State{}, fmt.Errorf("creating the store folder: %w", err)
	}
	// busy_timeout in the name applies to every connection, from the
	// first statement: a file another process holds locked is waited for.
	db, err := sql.Open("sqlite", fileURI(path, url.Values{"_pragma": {fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds())}}))
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

// Readiness is the state_store subsystem's state. It never waits.
func (s *SQLite) Readiness() (readiness.State, string) {
	r := s.ready.Load()
	return r.state, r.detail
}

// Record commits the new control state with its audit events, and any
// events held from earlier failed writes, in one transaction. A store that
// could not be opened is opened again first (never one that is corrupt).
// On failure the store is Degraded and holds the events: the controller
// keeps the change in memory.
func (s *SQLite) Record(st State, events ...intervention.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.reopen()
	if err == nil {
		err = s.record(st, append(slices.Clone(s.pending), events...))
	}
	if err != nil {
		for _, ev := range events {
			if len(s.pending) == pendingMax {
				s.pending = append(s.pending[:0], s.pending[1:]...)
				s.dropped++
			}
			s.pending = append(s.pending, ev)
		}
		if state, _ := s.Readiness(); state != readiness.Failed {
			detail := fmt.Sprintf("last write failed, control state held in memory (%d audit events waiting", len(s.pending))
			if s.dropped > 0 {
				detail += fmt.Sprintf(", %d older ones dropped", s.dropped)
			}
			s.setReadiness(readiness.Degraded, detail+"): "+err.Error())
		}
		return err
	}
	s.pending = nil
	s.setReadiness(readiness.Ready, "sqlite "+s.path)
	return nil
}

// reopen opens a store that could not be opened before, waiting only
// briefly for a locked file. Never one that is closed, still opening, or
// Failed. Callers hold mu.
func (s *SQLite) reopen() error {
	state, detail := s.Readiness()
	switch {
	case s.closed:
		return errors.New("store is closed")
	case s.db != nil:
		return nil
	case state == readiness.Failed, state == readiness.Warming:
		return fmt.Errorf("store is not open (%s)", detail)
	}
	db, _, err := open(s.path, reopenBusyTimeout)
	if err != nil {
		return fmt.Errorf("store is not open: %w", err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA busy_timeout = %d", BusyTimeout.Milliseconds())); err != nil {
		db.Close()
		return err
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

// Audit returns up to limit events, newest first, skipping the offset
// newest: those held in memory come first, then those in the file. With
// the file not open, only the held ones.
func (s *SQLite) Audit(offset, limit int) ([]intervention.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state, detail := s.Readiness(); s.db == nil && state == readiness.Failed {
		return nil, fmt.Errorf("store is not open (%s)", detail)
	}
	var out []intervention.Event
	for i := len(s.pending) - 1 - offset; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.pending[i])
	}
	if s.db == nil || len(out) == limit {
		return out, nil
	}
	fileOffset := max(0, offset-len(s.pending))
	rows, err := s.db.Query(`SELECT at, action, scope, old, new, reason, actor FROM audit ORDER BY id DESC LIMIT ? OFFSET ?`, limit-len(out), fileOffset)
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

// Close closes the file; the store is not opened again.
func (s *SQLite) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}
