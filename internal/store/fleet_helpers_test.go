package store

import (
	"testing"
	"time"

	"custos/internal/intervention"
)

// replica is one custos of a fleet, as far as control state goes: its
// controller on its own store, both on the fleet's database.
type replica struct {
	name  string
	store *Postgres
	ctl   *intervention.Controller
}

func fleetConfig() intervention.Config {
	return intervention.Config{Enabled: true, MaxPause: time.Hour, WaitTimeout: time.Minute}
}

// startReplica wires a controller to a Postgres store as custos serve
// does: restoring until the store has read the fleet's state, following
// the other replicas' changes after. Both close when the test ends, the
// controller first.
func startReplica(t *testing.T, dsn, name string, cfg intervention.Config) *replica {
	t.Helper()
	s := newPostgres(t, dsn, name)
	ctl := intervention.NewRestoring(cfg, s, quietLog)
	s.SetFollower(ctl.Adopt)
	t.Cleanup(ctl.Close)
	st, err := s.Open()
	if err != nil {
		t.Fatalf("opening %s: %v", name, err)
	}
	ctl.Restore(st)
	return &replica{name: name, store: s, ctl: ctl}
}

// auditOf is the fleet's whole audit log, oldest first.
func auditOf(t *testing.T, r *replica) []intervention.Event {
	t.Helper()
	events, err := r.store.Audit(0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	return events
}
