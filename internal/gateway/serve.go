package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"custos/internal/apierror"
	"custos/internal/intervention"
	"custos/internal/metrics"
	"custos/internal/supervisor"
)

// clientClosedRequest is the status recorded when the client went away.
const clientClosedRequest = 499

// serve takes a routed request to its answer and says what the client got.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, m *model, rm *metrics.Route, in inference, start time.Time) result {
	ctx := r.Context()
	held := g.pause.Blocks(m.cfg.ID)
	hold := intervention.Hold{Bytes: int64(len(in.body)), Admitted: !held}
	if !held {
		if snap, _ := m.state.Watch(); g.shouldFallback(snap, time.Now()) {
			return g.serveFallback(w, r, m, rm, in, start, hold)
		}
	}
	t, err := m.limiter.join(held)
	if err != nil {
		return g.refuse(w, in, m, err)
	}
	place := &placement{sched: g.sched, model: m.cfg.ID}
	defer place.drop()
	heldFor, err := g.awaitSlot(ctx, m, &t, &hold, place)
	if err != nil {
		if t != nil {
			m.limiter.leave(t)
		}
		if errors.Is(err, errUseFallback) || (errors.Is(err, errNotPlaced) && g.fallback != nil) {
			place.drop()
			return g.serveFallback(w, r, m, rm, in, start, hold)
		}
		return g.refuse(w, in, m, err)
	}
	defer m.limiter.release()

	// queue_timeout bounds the wait for a slot and a ready backend
	// together; time held by a pause is not part of it.
	deadline := start.Add(m.cfg.QueueTimeout + heldFor)
	onFirstByte := func() { rm.TTFB.Observe(time.Since(start).Seconds()) }
	if m.replicas != nil {
		return g.serveReplicas(w, r, m, rm, in, start, hold, deadline, onFirstByte)
	}
	budget := m.upstream.RetryBudget()
	for attempts := 0; ; attempts++ {
		url, snap, err := g.backendFor(ctx, m, &deadline, hold, localReady)
		if err != nil {
			return g.noBackend(w, r, m, rm, in, start, hold, err, snap, unready{
				unhealthy: "model `" + m.cfg.ID + "` is unhealthy after repeated failures",
				late:      "the backend of model `" + m.cfg.ID + "` did not become ready in time"})
		}
		res := forward(ctx, w, r, attempt{url: upstreamURL(url, r.URL, ""), body: in.body, transport: g.backends, dropHeaders: clientCredentials,
			route: in.route, model: in.requestedModel()}, onFirstByte)
		switch res.outcome {
		case delivered, interrupted:
			m.upstream.ReportAnswer(res.status)
			if res.outcome == interrupted {
				g.log.Warn("backend failed after the response began", "model", m.cfg.ID, "err", res.err)
			}
			return res
		case clientGone:
			return result{outcome: clientGone, status: clientClosedRequest}
		}
		// Nothing reached the client: tell the supervisor and try again
		// once the backend is back, within a fresh wait budget.
		m.upstream.ReportFailure(res.err)
		v := budget.Failed(snap.PID)
		if v == supervisor.TryOnNewProcess && !waitForNewProcess(ctx, m.upstream, snap.PID, budget.ReplacementWait()) {
			// The probes have had the time they need and the process
			// still stands: it fails requests while passing them.
			v = supervisor.GiveUp
		}
		if v == supervisor.GiveUp {
			g.log.Warn("backend failed before answering; out of retries", "model", m.cfg.ID, "attempts", attempts+1, "err", res.err)
			if g.fallback != nil {
				// Nothing has reached the client yet: the fallback may still answer.
				return g.serveFallback(w, r, m, rm, in, start, hold)
			}
			return g.answer(w, in, apierror.Error{Status: http.StatusBadGateway, Type: apierror.TypeServer, Code: "backend_failed",
				Message: "the backend of model `" + m.cfg.ID + "` failed on every attempt: " + res.err.Error()})
		}
		rm.Retries.Inc()
		g.log.Warn("backend failed before answering; retrying", "model", m.cfg.ID, "attempt", attempts+1, "err", res.err)
		deadline = time.Now().Add(m.cfg.QueueTimeout)
		if attempts > 0 {
			// The backend still failing while its snapshot says ready:
			// give the supervisor's probe time to see it before retrying.
			waitForChange(ctx, m.upstream, m.cfg.HealthTimeout)
		}
	}
}

// unready says, for noBackend, what a model lacks: a healthy backend, or
// one ready in time.
type unready struct{ unhealthy, late string }

// noBackend answers a request for which backendFor found no backend to
// forward to: the fallback where that is the rule, else 503 with why, or
// the refusal of a pause or a client gone.
func (g *Gateway) noBackend(w http.ResponseWriter, r *http.Request, m *model, rm *metrics.Route, in inference, start time.Time,
	hold intervention.Hold, err error, snap supervisor.Snapshot, why unready) result {
	switch {
	case errors.Is(err, errUseFallback):
		return g.serveFallback(w, r, m, rm, in, start, hold)
	case errors.Is(err, errUnhealthy):
		return g.answer(w, in, apierror.Unavailable("model_unhealthy", why.unhealthy+" ("+snap.LastExit+") and no fallback is configured",
			max(time.Until(snap.RetryAt), time.Second)))
	case errors.Is(err, errNotReady):
		return g.answer(w, in, apierror.Unavailable("backend_unavailable", why.late+" ("+snap.State.String()+")", time.Second))
	default:
		return g.refuse(w, in, m, err)
	}
}

// awaitSlot waits until the request's place in line is granted a slot,
// and returns how long a pause held it meanwhile. While a pause applies to
// the model the request waits on the pause (wait_timeout), keeping its
// place; otherwise it waits in line (queue_timeout, of which time held by
// a pause is not part). A request released from a pause whose model
// should now go to the fallback leaves the line with errUseFallback.
func (g *Gateway) awaitSlot(ctx context.Context, m *model, tp **ticket, hold *intervention.Hold, place *placement) (time.Duration, error) {
	t := *tp
	queueLeft := m.cfg.QueueTimeout
	var heldFor time.Duration
	for {
		changed := g.pause.Changed()
		if g.pause.Blocks(m.cfg.ID) {
			place.drop()
			begin := time.Now()
			err := g.pause.Wait(ctx, m.cfg.ID, *hold)
			heldFor += time.Since(begin)
			hold.Admitted = true
			if err != nil {
				return heldFor, err
			}
			if snap, _ := m.state.Watch(); g.shouldFallback(snap, time.Now()) {
				return heldFor, errUseFallback
			}
		}
		// A request in line keeps its model loaded, and loads it if need be.
		if !place.tryClaim() {
			// The model must be loaded first, or is draining for another.
			// Its slot, if it has one, goes back while it waits: a request
			// holding the model may be waiting for that slot, and the
			// model's drain for that request.
			if t.isGranted() {
				m.limiter.leave(t)
				*tp, t = nil, nil
			}
			waited, err := place.claim(ctx, queueLeft)
			queueLeft -= waited
			if err != nil {
				return heldFor, err
			}
			if t == nil {
				nt, err := m.limiter.join(false)
				if err != nil {
					return heldFor, err
				}
				*tp, t = nt, nt
			}
		}
		// No pause applies now: a pause that ended while nobody of this
		// line was waiting on it (or before this request looked) left
		// slots ungranted, so grant them before waiting.
		if !t.isGranted() {
			m.limiter.dispatch()
		}
		begin := time.Now()
		err := m.limiter.wait(ctx, t, queueLeft, changed)
		queueLeft -= time.Since(begin)
		if !errors.Is(err, errPauseChanged) {
			return heldFor, err
		}
	}
}

// backendFor waits until the model's backend is ready and no pause holds
// the request, and returns where to send it: a pause that began after the
// request got its slot holds it too, as it has not reached the backend.
// Time held by the pause moves deadline later, as it is not time spent
// waiting for the backend.
func (g *Gateway) backendFor(ctx context.Context, m *model, deadline *time.Time, hold intervention.Hold, ready readyFunc) (string, supervisor.Snapshot, error) {
	hold.Admitted = true
	for {
		changed := g.pause.Changed()
		if g.pause.Blocks(m.cfg.ID) {
			// It keeps its claim: holding a slot, it must not wait for a
			// reload that could wait for the slot.
			begin := time.Now()
			if err := g.pause.Wait(ctx, m.cfg.ID, hold); err != nil {
				return "", supervisor.Snapshot{}, err
			}
			*deadline = deadline.Add(time.Since(begin))
			continue
		}
		url, snap, err := g.awaitReady(ctx, m, *deadline, changed, ready)
		if errors.Is(err, errPauseChanged) {
			continue
		}
		return url, snap, err
	}
}

// answer writes e, shaped for the request's route, and returns what the
// client got.
func (g *Gateway) answer(w http.ResponseWriter, in inference, e apierror.Error) result {
	e.WriteIn(w, in.route.envelope())
	return result{outcome: delivered, status: e.Status}
}

// refuse answers a request that waited and may not go on: the pause or
// the queue turned it away, custos is draining, or the client left.
func (g *Gateway) refuse(w http.ResponseWriter, in inference, m *model, err error) result {
	var paused *intervention.PausedError
	var full *intervention.HeldFullError
	switch {
	case errors.As(err, &paused):
		return g.answer(w, in, apierror.Unavailable("inference_paused", "inference is paused: "+paused.Reason, paused.RetryAfter))
	case errors.As(err, &full):
		return g.answer(w, in, apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "too_many_held",
			Message: full.Error(), RetryAfter: full.RetryAfter})
	case errors.Is(err, intervention.ErrShuttingDown):
		return g.answer(w, in, shuttingDown(w))
	case errors.Is(err, errQueueFull):
		return g.answer(w, in, apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "queue_full",
			Message: "model `" + m.cfg.ID + "` is at capacity and its queue is full", RetryAfter: time.Second})
	case errors.Is(err, errNotPlaced):
		return g.answer(w, in, apierror.Unavailable("model_not_loaded", "model `"+m.cfg.ID+"` could not be loaded within queue_timeout ("+
			m.cfg.QueueTimeout.String()+"): the memory budget is held by models that cannot be unloaded yet; see /status", 5*time.Second))
	case errors.Is(err, errQueueTimeout):
		return g.answer(w, in, apierror.Unavailable("queue_timeout", "the request waited longer than queue_timeout ("+m.cfg.QueueTimeout.String()+") for model `"+m.cfg.ID+"`", 2*time.Second))
	}
	return result{outcome: clientGone, status: clientClosedRequest}
}

// waitForNewProcess reports whether the upstream's process stops being
// pid (killed, or replaced) within d.
func waitForNewProcess(ctx context.Context, u Upstream, pid int, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		snap, changed := u.Watch()
		if snap.PID != pid {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// waitForChange returns at the upstream's next state change, after d, or
// when ctx ends.
func waitForChange(ctx context.Context, u Upstream, d time.Duration) {
	_, changed := u.Watch()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-changed:
	case <-timer.C:
	case <-ctx.Done():
	}
}
