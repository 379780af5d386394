package app

import (
	"context"
	"time"

	"custos/internal/changes"
	"custos/internal/config"
	"custos/internal/gateway"
	"custos/internal/intervention"
	"custos/internal/scheduler"
	"custos/internal/supervisor"
)

// loadSignalEvery is how often, at most, the gateway's traffic changes
// are passed on to the feed: a busy gateway changes its counts at every
// request, and a status event goes out four times a second at most anyway.
const loadSignalEvery = 50 * time.Millisecond

// followChanges feeds every change of what /status shows into feed, until
// ctx ends: each backend's snapshots, the control state, the gateway's
// traffic, the store's opening and the readiness deadline (the
// scheduler's loads and unloads come through notifyingObserver).
func followChanges[B watcher](ctx context.Context, feed *changes.Feed, cfg *config.Config, startedAt time.Time, backends []B,
	pauses *intervention.Controller, gw *gateway.Gateway, storeOpened <-chan struct{}) {
	for _, b := range backends {
		feed.Follow(ctx, func() <-chan struct{} { _, ch := b.Watch(); return ch })
	}
	feed.Follow(ctx, pauses.Changed)
	feed.FollowSignals(ctx, gw.LoadChanged(), loadSignalEvery)
	if cfg.Readiness.Deadline > 0 {
		feed.At(ctx, startedAt.Add(cfg.Readiness.Deadline))
	}
	go func() {
		select {
		case <-storeOpened:
			feed.Notify()
		case <-ctx.Done():
		}
	}()
}

// watcher is a backend whose snapshots can be waited for.
type watcher interface {
	Watch() (supervisor.Snapshot, <-chan struct{})
}

// modelIDs are the configured models' ids, in configuration order.
func modelIDs(cfg *config.Config) []string {
	ids := make([]string, len(cfg.Models))
	for i := range cfg.Models {
		ids[i] = cfg.Models[i].ID
	}
	return ids
}

// notifyingObserver passes what the scheduler does on to its observer
// (metrics) and tells the feed: a load, an unload or a new measurement of
// memory changes /status.
type notifyingObserver struct {
	scheduler.Observer
	feed *changes.Feed
}

func (o notifyingObserver) Loading(model string) { o.Observer.Loading(model); o.feed.Notify() }
func (o notifyingObserver) Loaded(model string, d time.Duration) {
	o.Observer.Loaded(model, d)
	o.feed.Notify()
}
func (o notifyingObserver) Unloading(model, kind string) {
	o.Observer.Unloading(model, kind)
	o.feed.Notify()
}
func (o notifyingObserver) WaitedForLoad(model string) {
	o.Observer.WaitedForLoad(model)
	o.feed.Notify()
}

// Measured: a loaded model's resident memory, measured every 2 s, changed.
func (o notifyingObserver) Measured(string, int64) { o.feed.Notify() }
