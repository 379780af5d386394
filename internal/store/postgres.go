package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"custos/internal/intervention"
	"custos/internal/readiness"
)

// Postgres is the store a fleet of custos replicas shares: one control
// state and one audit log in a PostgreSQL database. A change is a
// compare-and-set on the state's version, so two replicas changing it at
// once cannot lose either change: the one that finds the version moved on
// gets the newest state back and decides again (intervention.ConflictError).
// Every commit notifies the other replicas (LISTEN/NOTIFY), and each
// replica reads the journal again whenever it connects, so a notification
// missed while it was cut off loses nothing.
//
// Losing the database, a replica keeps the state it knew and is Degraded:
// it holds its change and its audit events (bounded, like SQLite's), and
// writes them, in order, when it is connected again — it reconnects by
// itself, with backoff. Its held change is committed only if the fleet's
// state did not move meanwhile; if it did, the fleet's state wins, and
// this replica's events are still written, so the log says what it did.
type Postgres struct {
	replica string
	log     *slog.Logger
	conn    *pgx.ConnConfig // the watcher's own connection
	pool    *pgxpool.Pool   // writes and audit reads

	// follow is told of each state read from the journal (SetFollower).
	follow func(State, []intervention.Event)

	ready atomic.Pointer[storeReadiness]

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	start  sync.Once
	done   chan struct{} // closed when the watcher has stopped

	opened   chan struct{} // closed once the state is known, or the store Failed
	openOnce sync.Once
	openSt   State
	openErr  error

	mu        sync.Mutex
	connected bool        // the watcher's connection is up: writes are tried
	held      *heldChange // a change not committed yet
	pending   []intervention.Event
	dropped   int
	lastEvent int64 // the newest audit row read
}

// heldChange is the newest control state this replica could not commit,
// and the version of the fleet's state it was decided on top of.
type heldChange struct {
	state State
	base  uint64
}

// Timings of the connection to PostgreSQL.
const (
	pgConnectTimeout = 2 * time.Second
	pgWriteTimeout   = 2 * time.Second
	pgMinBackoff     = 50 * time.Millisecond
	pgMaxBackoff     = 5 * time.Second
)

// pgPollInterval is how often a replica reads the journal even with no
// notification: a check that the connection still answers. A variable so
// a test can show that a reconnect alone recovers a missed notification.
var pgPollInterval = 5 * time.Second

// pgChannel is the LISTEN/NOTIFY channel of control changes.
const pgChannel = "custos_control"

// ErrStateUnknown is what Open returns when the store cannot say what the
// control state is: custos then serves nothing.
var ErrStateUnknown = errors.New("the control state is unknown")

var (
	errNewerDatabase = errors.New("the database is from a newer custos")
	errUnreachable   = errors.New("PostgreSQL is unreachable")
)

// NewPostgres returns the store on the database dsn names, for the replica
// named replica. It connects when Open is called.
func NewPostgres(dsn, replica string, log *slog.Logger) (*Postgres, error) {
	connCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store.dsn_env: not a PostgreSQL connection string: %w", err)
	}
	connCfg.ConnectTimeout = pgConnectTimeout
	poolCfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store.dsn_env: not a PostgreSQL connection string: %w", err)
	}
	poolCfg.ConnConfig.ConnectTimeout = pgConnectTimeout
	poolCfg.MaxConns = 4
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &Postgres{replica: replica, log: log, conn: connCfg, pool: pool, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), opened: make(chan struct{})}
	s.setReadiness(readiness.Warming, "connecting to PostgreSQL")
	return s, nil
}

var _ Store = (*Postgres)(nil)

func (s *Postgres) setReadiness(state readiness.State, detail string) {
	s.ready.Store(&storeReadiness{state: state, detail: detail})
}

// Kind returns "postgres".
func (*Postgres) Kind() string { return "postgres" }

// Readiness is the state_store subsystem's state. It never waits.
func (s *Postgres) Readiness() (readiness.State, string) {
	r := s.ready.Load()
	return r.state, r.detail
}

// SetFollower names what is told of every control state read from the
// journal — a change another replica made, or the state found on
// reconnecting — with the audit events other replicas wrote since the
// last read. Call it before Open; the controller's Adopt is the follower.
func (s *Postgres) SetFollower(follow func(State, []intervention.Event)) { s.follow = follow }

// Open connects, migrates the schema, and returns the fleet's control
// state. It waits as long as the database is unreachable — custos must not
// serve before it knows whether inference is paused — and returns early
// only when the store is Failed (a database from a newer custos) or closed.
func (s *Postgres) Open() (State, error) {
	s.start.Do(func() { go s.watch() })
	<-s.opened
	return s.openSt, s.openErr
}

// opening reports the outcome of the first read, once.
func (s *Postgres) opening(st State, err error) {
	s.openOnce.Do(func() {
		s.openSt, s.openErr = st, err
		close(s.opened)
	})
}

// Record commits st, with its events and those held from before, if the
// fleet's state is still at the version st was decided on; otherwise it
// returns an *intervention.ConflictError with the newest state and writes
// nothing of this change. Without the database it holds the change and
// is Degraded.
func (s *Postgres) Record(st State, events ...intervention.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	events = slices.Clone(events)
	for i := range events {
		if events[i].Replica == "" {
			events[i].Replica = s.replica
		}
	}
	base := st.Version - 1
	if s.held != nil {
		base = s.held.base
	}
	if s.ctx.Err() != nil {
		return errors.New("store is closed")
	}
	if !s.connected {
		s.hold(st, base, events)
		s.degrade(errUnreachable)
		return errUnreachable
	}
	ctx, cancel := context.WithTimeout(s.ctx, pgWriteTimeout)
	defer cancel()
	err := s.commit(ctx, base, st, append(slices.Clone(s.pending), events...))
	if err != nil && pgconn.SafeToRetry(err) {
		// A pooled connection the server closed (a restart of PostgreSQL)
		// fails before anything is sent; the pool has dropped it, so a
		// second try on a fresh one commits now, rather than holding the
		// change until the watcher's next flush.
		err = s.commit(ctx, base, st, append(slices.Clone(s.pending), events...))
	}
	var conflict *intervention.ConflictError
	switch {
	case err == nil:
		s.held, s.pending, s.dropped = nil, nil, 0
		s.setReadiness(readiness.Ready, s.readyDetail())
		return nil
	case errors.As(err, &conflict):
		// This change is decided again on top of the newest state; what
		// this replica held from before lost to the fleet's state, but its
		// events happened and are written.
		s.held = nil
		if len(s.pending) > 0 {
			if werr := s.writeEvents(ctx, withoutMootExpiries(s.pending)); werr == nil {
				s.pending, s.dropped = nil, 0
			}
		}
		return err
	default:
		s.hold(st, base, events)
		s.degrade(err)
		return err
	}
}

// withoutMootExpiries drops, from the events of a held change the fleet's
// state overtook, each max_pause expiry of a pause the fleet knew: the
// fleet's log has that pause's end from whoever committed it, or gets it
// from this replica's controller, which ends the pause again on adopting
// the fleet's state if its deadline has passed. So max_pause ends a pause
// once in the log however many replicas' timers fired while cut off. An
// expiry of a pause this replica made while cut off stays, beside its
// pause.
func withoutMootExpiries(events []intervention.Event) []intervention.Event {
	pausedHere := map[string]bool{}
	kept := make([]intervention.Event, 0, len(events))
	for _, ev := range events {
		switch {
		case ev.Action == "pause":
			pausedHere[ev.Scope] = true
		case ev.Action == "resume" && ev.Actor == intervention.ActorTimer && !pausedHere[ev.Scope]:
			continue
		case ev.Action == "resume":
			pausedHere[ev.Scope] = false
		}
		kept = append(kept, ev)
	}
	return kept
}

// hold keeps a change that could not be committed, and its events,
// dropping the oldest events past pendingMax. Callers hold mu.
func (s *Postgres) hold(st State, base uint64, events []intervention.Event) {
	s.held = &heldChange{state: st, base: base}
	for _, ev := range events {
		if len(s.pending) == pendingMax {
			s.pending = append(s.pending[:0], s.pending[1:]...)
			s.dropped++
		}
		s.pending = append(s.pending, ev)
	}
}

// degrade says the store is Degraded because of err. Callers hold mu.
func (s *Postgres) degrade(err error) {
	if state, _ := s.Readiness(); state == readiness.Failed {
		return
	}
	detail := "control state held in memory"
	if s.held != nil {
		detail = fmt.Sprintf("last write failed, control state held in memory (%d audit events waiting", len(s.pending))
		if s.dropped > 0 {
			detail += fmt.Sprintf(", %d older ones dropped", s.dropped)
		}
		detail += ")"
	}
	s.setReadiness(readiness.Degraded, detail+": "+err.Error())
}

func (s *Postgres) readyDetail() string {
	return fmt.Sprintf("postgres %s:%d/%s, replica %s", s.conn.Host, s.conn.Port, s.conn.Database, s.replica)
}

// commit is the compare-and-set: the state moves from version base to
// st.Version with its events, and the other replicas are notified, in one
// transaction.
func (s *Postgres) commit(ctx context.Context, base uint64, st State, events []intervention.Event) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `UPDATE custos_control_state SET state = $1, version = $2 WHERE id = 1 AND version = $3`,
		string(raw), int64(st.Version), int64(base))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		newest, err := readState(ctx, tx)
		if err != nil {
			return err
		}
		return &intervention.ConflictError{Newest: newest}
	}
	if err := insertEvents(ctx, tx, st.Version, events); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, pgChannel, fmt.Sprint(st.Version)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// writeEvents writes audit events without a change of state: those of a
// held change the fleet's state overtook.
func (s *Postgres) writeEvents(ctx context.Context, events []intervention.Event) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var version int64
	if err := tx.QueryRow(ctx, `SELECT version FROM custos_control_state WHERE id = 1`).Scan(&version); err != nil {
		return err
	}
	if err := insertEvents(ctx, tx, uint64(version), events); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// insertEvents appends events to the audit log in their order, in one
// round trip however many a replica held.
func insertEvents(ctx context.Context, tx pgx.Tx, version uint64, events []intervention.Event) error {
	if len(events) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, ev := range events {
		batch.Queue(`INSERT INTO custos_audit (at, action, scope, old, new, reason, actor, replica, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			ev.At.UTC(), ev.Action, ev.Scope, ev.Old, ev.New, ev.Reason, ev.Actor, ev.Replica, int64(version))
	}
	return tx.SendBatch(ctx, batch).Close()
}

// querier is a connection, a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func readState(ctx context.Context, q querier) (State, error) {
	var raw []byte
	var version int64
	if err := q.QueryRow(ctx, `SELECT state, version FROM custos_control_state WHERE id = 1`).Scan(&raw, &version); err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		return State{}, fmt.Errorf("custos_control_state is not a control state: %v", err)
	}
	st.Version = uint64(version)
	return st, nil
}

const auditColumns = `id, at, action, scope, old, new, reason, actor, replica`

func scanEvents(rows pgx.Rows) ([]intervention.Event, int64, error) {
	defer rows.Close()
	var out []intervention.Event
	var last int64
	for rows.Next() {
		var ev intervention.Event
		if err := rows.Scan(&last, &ev.At, &ev.Action, &ev.Scope, &ev.Old, &ev.New, &ev.Reason, &ev.Actor, &ev.Replica); err != nil {
			return nil, 0, err
		}
		out = append(out, ev)
	}
	return out, last, rows.Err()
}

// Audit returns up to limit events of the fleet, newest first, skipping
// the offset newest: this replica's held ones first, then the database's.
// Without the database, only the held ones.
func (s *Postgres) Audit(offset, limit int) ([]intervention.Event, error) {
	s.mu.Lock()
	var out []intervention.Event
	for i := len(s.pending) - 1 - offset; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.pending[i])
	}
	held, connected := len(s.pending), s.connected
	s.mu.Unlock()
	if state, detail := s.Readiness(); state == readiness.Failed {
		return nil, fmt.Errorf("store is not open (%s)", detail)
	}
	if !connected || len(out) == limit {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, pgWriteTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM custos_audit ORDER BY id DESC LIMIT $1 OFFSET $2`,
		limit-len(out), max(0, offset-held))
	if err != nil {
		return nil, err
	}
	events, _, err := scanEvents(rows)
	return append(out, events...), err
}

// Close stops the watcher and closes the connections; held events not
// written by then are lost with the process, as they would be with
// SQLite.
func (s *Postgres) Close() error {
	s.cancel()
	s.start.Do(func() { close(s.done) })
	<-s.done
	s.opening(State{}, fmt.Errorf("%w: the store is closed", ErrStateUnknown))
	s.pool.Close()
	return nil
}
