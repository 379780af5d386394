package app

import (
	"errors"
	"log/slog"

	"custos/internal/config"
	"custos/internal/intervention"
	"custos/internal/store"
)

// controlStore is a store that opens in the background.
type controlStore interface {
	store.Store
	// Open returns the control state the store holds.
	Open() (store.State, error)
}

// newStore returns the configured store, not opened yet. A connection
// string PostgreSQL's driver cannot read is a configuration mistake.
func newStore(cfg *config.Config, log *slog.Logger) (controlStore, error) {
	if cfg.Store.Driver != config.StorePostgres {
		return store.NewSQLite(cfg.Store.Path), nil
	}
	pg, err := store.NewPostgres(cfg.Store.DSN, cfg.Store.Replica, log)
	if err != nil {
		return nil, &config.Error{Problems: []config.Problem{{Path: "store.dsn_env", Message: err.Error()}}}
	}
	return pg, nil
}

// openStore opens the durable store and hands the controller the state it
// holds. A store that cannot be opened does not stop custos: it serves on
// with control state in memory, starting from what the file holds if it
// can be read, and the gate's state_store subsystem says why (Degraded, or
// Failed for a corrupt file). A store whose state is not known at all (a
// database from a newer custos) leaves the controller restoring: custos
// serves nothing rather than guess whether inference is paused.
func openStore(st controlStore, pauses *intervention.Controller, cfg *config.Config, log *slog.Logger) {
	restored, err := st.Open()
	paused := restored.Global != nil || len(restored.Models) > 0
	if err != nil {
		state, detail := st.Readiness()
		log.Error("control-state store unavailable", "store", st.Kind(), "path", cfg.Store.Path, "state", state.String(), "detail", detail, "paused", paused)
		if errors.Is(err, store.ErrStateUnknown) {
			return
		}
	} else {
		log.Info("control-state store open", "store", st.Kind(), "path", cfg.Store.Path, "replica", cfg.Store.Replica, "paused", paused)
	}
	pauses.Restore(restored)
}

// followFleet has a store a fleet shares tell the controller of the
// states other replicas commit.
func followFleet(st controlStore, pauses *intervention.Controller) {
	if fleet, ok := st.(*store.Postgres); ok {
		fleet.SetFollower(pauses.Adopt)
	}
}

// endOpening waits until the store's Open has returned. A file store
// finishes opening (in seconds at most); a database's Open waits for as
// long as the database is unreachable, so it is closed to end the wait.
func endOpening(st controlStore, opened <-chan struct{}) {
	select {
	case <-opened:
		return
	default:
	}
	if fleet, ok := st.(*store.Postgres); ok {
		fleet.Close()
	}
	<-opened
}
