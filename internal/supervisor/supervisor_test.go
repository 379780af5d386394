package supervisor

import (
	"context"
	"testing"
	"time"

	"custos/internal/config"
)

func TestSupervisorRunsAndStopsEveryModel(t *testing.T) {
	a, b := standinModel(), standinModel("--load-time", "200ms")
	a.ID, b.ID = "alpha", "beta"
	h := &history{}
	sup := New(&config.Config{Models: []config.Model{a, b}}, Options{Logger: testLogger(), OnChange: h.add})

	backends := sup.Backends()
	if len(backends) != 2 || backends[0].ID() != "alpha" || backends[1].ID() != "beta" {
		t.Fatalf("Backends not in configuration order")
	}
	if got, ok := sup.Backend("beta"); !ok || got != backends[1] {
		t.Fatal("Backend(beta) did not find it")
	}
	if _, ok := sup.Backend("gamma"); ok {
		t.Fatal("Backend found an unconfigured model")
	}

	sup.Start(context.Background())
	for _, id := range []string{"alpha", "beta"} {
		h.await(t, 0, id+" ready", func(s Snapshot) bool { return s.Model == id && s.State == StateReady })
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := sup.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, be := range backends {
		if s := be.Snapshot(); s.State != StateStopped {
			t.Fatalf("%s after Stop: %+v", be.ID(), s)
		}
	}
}

func TestWatchIsWokenByTheNextChange(t *testing.T) {
	b := NewBackend(standinModel(), Options{Logger: testLogger()})
	before, changed := b.Watch()
	if before.State != StateStopped || before.Progress != -1 {
		t.Fatalf("initial snapshot: %+v", before)
	}
	go b.Run(context.Background())
	t.Cleanup(func() { stopBackend(t, b) })
	select {
	case <-changed:
	case <-time.After(waitLimit):
		t.Fatalf("Watch's channel not closed within %v of Run; snapshot %+v", waitLimit, b.Snapshot())
	}
	if s := b.Snapshot(); s.State == StateStopped {
		t.Fatalf("Watch woke without a change: %+v", s)
	}
}
