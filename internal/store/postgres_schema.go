package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// pgMigrations bring the PostgreSQL schema from version i to i+1. Append
// only. The tables are prefixed so a database custos shares with other
// software stays readable.
var pgMigrations = []string{
	`CREATE TABLE custos_control_state (
		id      integer PRIMARY KEY CHECK (id = 1),
		version bigint  NOT NULL,
		state   jsonb   NOT NULL
	);
	INSERT INTO custos_control_state (id, version, state) VALUES (1, 0, '{}');
	CREATE TABLE custos_audit (
		id      bigserial   PRIMARY KEY,
		at      timestamptz NOT NULL,
		action  text        NOT NULL,
		scope   text        NOT NULL,
		old     text        NOT NULL,
		new     text        NOT NULL,
		reason  text        NOT NULL,
		actor   text        NOT NULL,
		replica text        NOT NULL,
		version bigint      NOT NULL
	);`,
}

// migrationLock is the advisory lock replicas starting together take, so
// that one of them migrates and the others find the schema migrated.
const migrationLock = 0x637573746f73 // "custos"

// pgMigrate brings the schema to the newest version in one transaction.
// A database from a newer custos is left exactly as it is.
func pgMigrate(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS custos_schema (version integer NOT NULL)`); err != nil {
		return err
	}
	var version int
	err = tx.QueryRow(ctx, `SELECT version FROM custos_schema`).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		_, err = tx.Exec(ctx, `INSERT INTO custos_schema (version) VALUES (0)`)
	}
	if err != nil {
		return err
	}
	if version > len(pgMigrations) {
		return fmt.Errorf("%w: schema version %d, this custos knows up to %d", errNewerDatabase, version, len(pgMigrations))
	}
	if version == len(pgMigrations) {
		return nil
	}
	for v := version; v < len(pgMigrations); v++ {
		if _, err := tx.Exec(ctx, pgMigrations[v]); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE custos_schema SET version = $1`, len(pgMigrations)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
