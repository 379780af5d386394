package gateway

import (
	"context"
	"errors"
	"time"

	"custos/internal/intervention"
	"custos/internal/scheduler"
)

// errNotPlaced: the request's model could not be loaded within the
// request's queue_timeout (no room could be made in the memory budget).
var errNotPlaced = errors.New("model not loaded in time")

// placement is a request's claim on its model being loaded (package
// scheduler): held while the request waits in line and for its backend,
// so the model is never unloaded under it, and given up while a pause
// holds the request, since held requests neither keep a model loaded nor
// start a load.
type placement struct {
	sched *scheduler.Scheduler // nil: every model stays loaded
	model string
	lease scheduler.Lease
}

// claim admits the request to its model, waiting up to within for the
// scheduler to load it, and returns how long it waited.
func (p *placement) claim(ctx context.Context, within time.Duration) (time.Duration, error) {
	if p.sched == nil || p.lease.Held() {
		return 0, nil
	}
	if l, ok := p.sched.TryAcquire(p.model); ok {
		p.lease = l
		return 0, nil
	}
	begin := time.Now()
	wctx, cancel := context.WithTimeout(ctx, max(within, 0))
	defer cancel()
	lease, err := p.sched.Acquire(wctx, p.model)
	waited := time.Since(begin)
	switch {
	case err == nil:
		p.lease = lease
		return waited, nil
	case errors.Is(err, scheduler.ErrStopped):
		return waited, intervention.ErrShuttingDown
	case ctx.Err() != nil:
		return waited, ctx.Err()
	}
	return waited, errNotPlaced
}

// tryClaim admits the request at once if its model is loaded and not
// draining.
func (p *placement) tryClaim() bool {
	if p.sched == nil || p.lease.Held() {
		return true
	}
	l, ok := p.sched.TryAcquire(p.model)
	p.lease = l
	return ok
}

// drop gives the claim up.
func (p *placement) drop() { p.lease.Release() }
