package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"custos/internal/intervention"
	"custos/internal/readiness"
)

// watch owns the replica's own connection to the database: it listens
// for the other replicas' changes and reads the journal on every
// (re)connect, writes what was held while the database was away, and
// reconnects with backoff until Close.
func (s *Postgres) watch() {
	defer close(s.done)
	backoff := pgMinBackoff
	unreachable := false // logged once per streak of failed connects
	for {
		up, err := s.session()
		if s.ctx.Err() != nil {
			return
		}
		if errors.Is(err, errNewerDatabase) {
			s.setReadiness(readiness.Failed, err.Error())
			s.log.Error("control-state database is from a newer custos; not touching it", "err", err)
			s.opening(State{}, fmt.Errorf("%w: %w", ErrStateUnknown, err))
			return
		}
		s.mu.Lock()
		s.connected = false
		if s.isOpen() {
			s.degrade(fmt.Errorf("%w: %v", errUnreachable, err))
		} else {
			s.setReadiness(readiness.Warming, "waiting for PostgreSQL to learn whether inference is paused: "+err.Error())
		}
		s.mu.Unlock()
		switch {
		case up:
			backoff, unreachable = pgMinBackoff, false
			s.log.Warn("lost the control-state database; reconnecting", "err", err)
		case !unreachable:
			unreachable = true
			s.log.Warn("cannot reach the control-state database; retrying with backoff", "err", err, "max_backoff", pgMaxBackoff)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, pgMaxBackoff)
	}
}

// isOpen reports whether Open has its answer.
func (s *Postgres) isOpen() bool {
	select {
	case <-s.opened:
		return true
	default:
		return false
	}
}

// session is one connection: up reports whether it got as far as
// listening, err why it ended.
func (s *Postgres) session() (up bool, err error) {
	conn, err := pgx.ConnectConfig(s.ctx, s.conn)
	if err != nil {
		return false, err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}()
	if err := timed(s.ctx, func(ctx context.Context) error { return pgMigrate(ctx, conn) }); err != nil {
		return false, err
	}
	if err := timed(s.ctx, func(ctx context.Context) error {
		_, err := conn.Exec(ctx, "LISTEN "+pgChannel)
		return err
	}); err != nil {
		return false, err
	}
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
	if s.isOpen() {
		// The pool's idle connections may be to a server that has since
		// restarted: drop them all, so the next change is written on a
		// fresh one instead of failing on each stale one in turn.
		s.pool.Reset()
		s.log.Info("reconnected to the control-state database; reading the fleet's state")
	}
	for {
		if err := s.flush(); err != nil {
			return true, err
		}
		if err := s.readJournal(conn); err != nil {
			return true, err
		}
		wait, cancel := context.WithTimeout(s.ctx, pgPollInterval)
		_, err := conn.WaitForNotification(wait)
		cancel()
		if err != nil && !(errors.Is(err, context.DeadlineExceeded) && s.ctx.Err() == nil && !conn.IsClosed()) {
			return true, err
		}
	}
}

// timed runs f with the write timeout.
func timed(parent context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(parent, pgWriteTimeout)
	defer cancel()
	return f(ctx)
}

// flush commits the change held while the database was away, with its
// events. One that the fleet's state overtook is dropped, its events
// written: the journal read that follows hands the fleet's state to the
// controller.
func (s *Postgres) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, pgWriteTimeout)
	defer cancel()
	err := s.commit(ctx, s.held.base, s.held.state, s.pending)
	var conflict *intervention.ConflictError
	if errors.As(err, &conflict) {
		s.log.Warn("the fleet's control state changed while this replica was cut off; adopting it", "version", conflict.Newest.Version)
		err = s.writeEvents(ctx, withoutMootExpiries(s.pending))
	}
	if err != nil {
		s.degrade(err)
		return err
	}
	s.log.Info("control-state database back; held audit events written", "events", len(s.pending))
	s.held, s.pending, s.dropped = nil, nil, 0
	return nil
}

// readJournal reads the fleet's state and the audit events written since
// the last read, and tells the follower. The first read answers Open.
func (s *Postgres) readJournal(conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(s.ctx, pgWriteTimeout)
	defer cancel()
	st, err := readState(ctx, conn)
	if err != nil {
		return err
	}
	s.mu.Lock()
	last := s.lastEvent
	s.mu.Unlock()
	var others []intervention.Event
	if !s.isOpen() {
		err = conn.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM custos_audit`).Scan(&last)
	} else {
		var rows pgx.Rows
		rows, err = conn.Query(ctx, `SELECT `+auditColumns+` FROM custos_audit WHERE id > $1 ORDER BY id LIMIT 1000`, last)
		if err == nil {
			var events []intervention.Event
			var newest int64
			events, newest, err = scanEvents(rows)
			last = max(last, newest)
			for _, ev := range events {
				if ev.Replica != s.replica {
					others = append(others, ev)
				}
			}
		}
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.lastEvent = last
	if s.held == nil {
		s.setReadiness(readiness.Ready, s.readyDetail())
	}
	s.mu.Unlock()
	s.opening(st, nil)
	if s.follow != nil {
		s.follow(st, others)
	}
	return nil
}
