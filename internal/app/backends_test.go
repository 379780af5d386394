package app

import (
	"context"
	"custos/internal/changes"
	"io"
	"log/slog"
	"testing"

	"custos/internal/config"
	"custos/internal/metrics"
	"custos/internal/remote"
	"custos/internal/supervisor"
)

// A remote model has no process here: the supervisor runs none for it,
// and the scheduler admits its requests at once, counts none of this
// machine's memory for it, and holds it pinned (never evicted nor
// unloaded for idleness), in a budget too small for any local model.
func TestARemoteModelIsPlacedPinnedAtNoMemory(t *testing.T) {
	cfg, err := config.Parse([]byte("resources: {memory: 1MiB}\nmodels:\n  far: {backend: remote, urls: [\"http://10.0.0.1:8080\"]}\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sup := supervisor.New(cfg, supervisor.Options{Logger: log})
	if len(sup.Backends()) != 0 {
		t.Fatalf("the supervisor has %d backends for a remote model", len(sup.Backends()))
	}
	set := newBackendSet(cfg, sup, log)
	if _, ok := set.list[0].(*remote.Pool); !ok || len(set.pools) != 1 {
		t.Fatalf("the remote model's backend is %T", set.list[0])
	}
	sched := newScheduler(cfg, set.list, metrics.New(), log, changes.New())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sched.Run(ctx)
	lease, ok := sched.TryAcquire("far")
	if !ok {
		t.Fatal("a request for the remote model was not admitted at once")
	}
	lease.Release()
	in, _ := sched.Info("far")
	if !in.Loaded || !in.Pinned || in.Memory != 0 || in.TTL != 0 {
		t.Fatalf("placement: %+v", in)
	}
}
