// Package gateway is custos's OpenAI-compatible front: it routes each
// inference request by the model its body names, holds it while the model
// is paused, queues it within the model's concurrency limit, waits for the
// backend to be ready, forwards it on a tuned connection pool, streams the
// answer back chunk by chunk, retries what failed before any byte reached
// the client, and sends what the model cannot serve to the fallback.
package gateway

import (
	"context"
	"custos/internal/apierror"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"custos/internal/config"
	"custos/internal/intervention"
	"custos/internal/metrics"
)

// Gate is the readiness gate.
type Gate interface{ Open() bool }

// Pauser holds requests while inference is paused (the intervention
// controller implements it).
type Pauser interface {
	// Blocks reports whether a pause applies to model; it must be cheap
	// while nothing is paused. Other models' requests keep their own
	// queue limits.
	Blocks(model string) bool
	// Wait holds a request for model until no pause applies to it.
	Wait(ctx context.Context, model string) error
}

// Options wire the gateway.
type Options struct {
	Config    *config.Config
	Upstreams map[string]Upstream // by model id
	Gate      Gate
	Pause     Pauser // optional
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	StartedAt time.Time
}

// Gateway serves /v1.
type Gateway struct {
	cfg       *config.Config
	gate      Gate
	pause     Pauser
	log       *slog.Logger
	startedAt time.Time
	models    map[string]*model
	order     []*model
	backends  *backendClient
	fallback  *fallback
	draining  atomic.Bool
	inFlight  tracker
	metrics   *metrics.Metrics
}

// model is one configured model's routing state.
type model struct {
	cfg      *config.Model
	upstream Upstream
	limiter  *limiter
	routes   map[string]*metrics.Route
}

// Routes and the metrics label each gets.
const (
	routeChat        = "chat"
	routeCompletions = "completions"
	routeEmbeddings  = "embeddings"
)

// New returns the gateway.
func New(opts Options) *Gateway {
	g := &Gateway{
		cfg: opts.Config, gate: opts.Gate, pause: opts.Pause, log: opts.Logger, startedAt: opts.StartedAt,
		models: map[string]*model{}, metrics: opts.Metrics,
	}
	maxConc := 0
	for i := range opts.Config.Models {
		mc := &opts.Config.Models[i]
		maxConc = max(maxConc, mc.MaxConcurrency)
		any := opts.Metrics.Route(mc.ID, routeChat)
		m := &model{
			cfg: mc, upstream: opts.Upstreams[mc.ID],
			limiter: newLimiter(mc.MaxConcurrency, mc.QueueMax, any.InFlight, any.Queued),
			routes:  map[string]*metrics.Route{},
		}
		for _, r := range []string{routeChat, routeCompletions, routeEmbeddings} {
			m.routes[r] = opts.Metrics.Route(mc.ID, r)
		}
		g.models[mc.ID] = m
		g.order = append(g.order, m)
	}
	g.backends = newBackendClient(maxConc)
	if opts.Config.Fallback != nil {
		g.fallback = newFallback(opts.Config.Fallback)
	}
	return g
}

// Handler serves the /v1 routes.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", g.inference(routeChat))
	mux.HandleFunc("POST /v1/completions", g.inference(routeCompletions))
	mux.HandleFunc("POST /v1/embeddings", g.inference(routeEmbeddings))
	mux.HandleFunc("GET /v1/models", g.gated(g.listModels))
	mux.HandleFunc("/v1/", g.gated(func(w http.ResponseWriter, r *http.Request) {
		apierror.Error{Status: http.StatusNotFound, Type: apierror.TypeInvalidRequest, Code: "unknown_route",
			Message: r.Method + " " + r.URL.Path + " is not a route custos serves"}.Write(w)
	}))
	return mux
}

// Drain makes every new inference request get 503 from now on.
func (g *Gateway) Drain() { g.draining.Store(true) }

// Wait returns once no inference request is in flight, or when ctx ends.
func (g *Gateway) Wait(ctx context.Context) error { return g.inFlight.wait(ctx) }

// Load is a model's current traffic.
type Load struct {
	InFlight, Queued int
}

// Load returns a model's requests in flight and waiting for a slot.
func (g *Gateway) Load(id string) Load {
	m := g.models[id]
	if m == nil {
		return Load{}
	}
	a, q := m.limiter.load()
	return Load{InFlight: a, Queued: q}
}

// inference handles one inference route.
func (g *Gateway) inference(route string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g.inFlight.enter()
		defer g.inFlight.leave()
		in, m, rejected := g.admit(w, r)
		if rejected != nil {
			rejected.Write(w)
			g.metrics.CountUnrouted(route, rejected.Status)
			return
		}
		rm := m.routes[route]
		start := time.Now()
		status := g.serve(w, r, m, rm, in, start)
		rm.Count(status)
		rm.Latency.Observe(time.Since(start).Seconds())
	}
}

// admit reads and routes an inference request, or says why it is
// answered before reaching any model.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request) (inference, *model, *apierror.Error) {
	if g.draining.Load() {
		w.Header().Set("Connection", "close")
		e := apierror.Unavailable("shutting_down", "custos is shutting down", 5*time.Second)
		return inference{}, nil, &e
	}
	if !g.gate.Open() {
		e := gateClosed()
		return inference{}, nil, &e
	}
	body, err := readBody(r, g.cfg.MaxBodyBytes)
	if err != nil {
		e := describeBodyError(err, g.cfg.MaxBodyBytes)
		return inference{}, nil, &e
	}
	in, perr := parseInference(body)
	if perr != nil {
		return inference{}, nil, perr
	}
	mc, ok := g.cfg.Model(in.model)
	if !ok {
		return inference{}, nil, &apierror.Error{Status: http.StatusNotFound, Type: apierror.TypeInvalidRequest, Code: "model_not_found",
			Message: "the model `" + in.model + "` does not exist; GET /v1/models lists the models"}
	}
	return in, g.models[mc.ID], nil
}

// gateClosed answers a /v1 request while the readiness gate is closed.
func gateClosed() apierror.Error {
	return apierror.Unavailable("not_ready", "custos is not ready to serve yet; see /readyz?verbose", 5*time.Second)
}

// gated guards a /v1 route that is not inference with the readiness gate.
func (g *Gateway) gated(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !g.gate.Open() {
			gateClosed().Write(w)
			return
		}
		h(w, r)
	}
}

// clientClosedRequest is the status recorded when the client went away.
const clientClosedRequest = 499

// serve takes a routed request to its answer and returns the status sent.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, m *model, rm *metrics.Route, in inference, start time.Time) int {
	ctx := r.Context()
	if g.pause != nil && g.pause.Blocks(m.cfg.ID) {
		// Take a place in the model's queue on arrival, so that a resume
		// grants slots in arrival order.
		place := m.limiter.reserve()
		if err := g.pause.Wait(ctx, m.cfg.ID); err != nil {
			m.limiter.cancel(place)
			return pausedError(w, err)
		}
		if snap, _ := m.upstream.Watch(); g.shouldFallback(snap, time.Now()) {
			m.limiter.cancel(place)
			return g.serveFallback(w, r, m, rm, in, start)
		}
		if err := m.limiter.await(ctx, place, m.cfg.QueueTimeout); err != nil {
			return g.limiterError(w, m, err)
		}
	} else {
		if snap, _ := m.upstream.Watch(); g.shouldFallback(snap, time.Now()) {
			return g.serveFallback(w, r, m, rm, in, start)
		}
		if err := m.limiter.acquire(ctx, m.cfg.QueueTimeout); err != nil {
			return g.limiterError(w, m, err)
		}
	}
	defer m.limiter.release()

	deadline := start.Add(m.cfg.QueueTimeout)
	onFirstByte := func() { rm.TTFB.Observe(time.Since(start).Seconds()) }
	budget := newRetryBudget(m.cfg)
	for attempts := 0; ; attempts++ {
		url, snap, err := g.awaitReady(ctx, m, deadline)
		switch {
		case errors.Is(err, errUseFallback):
			return g.serveFallback(w, r, m, rm, in, start)
		case errors.Is(err, errUnhealthy):
			e := apierror.Unavailable("model_unhealthy", "model `"+m.cfg.ID+"` is unhealthy after repeated failures ("+snap.LastExit+") and no fallback is configured",
				max(time.Until(snap.RetryAt), time.Second))
			e.Write(w)
			return e.Status
		case errors.Is(err, errNotReady):
			e := apierror.Unavailable("backend_unavailable", "the backend of model `"+m.cfg.ID+"` did not become ready in time ("+snap.State.String()+")", time.Second)
			e.Write(w)
			return e.Status
		case err != nil:
			return clientClosedRequest
		}
		res := forward(ctx, w, r, attempt{url: url + r.URL.Path, body: in.body, transport: g.backends}, onFirstByte)
		switch res.outcome {
		case delivered:
			return res.status
		case clientGone:
			return clientClosedRequest
		}
		// Nothing reached the client: tell the supervisor and try again
		// once the backend is back, within a fresh wait budget.
		m.upstream.ReportFailure(res.err)
		v := budget.failed(snap.PID)
		if v == tryOnNewProcess {
			// The probes may not have condemned the process yet (a probe
			// already running when this failure was reported counts once):
			// give the supervisor the time its regular probes need.
			grace := m.cfg.HealthInterval*time.Duration(m.cfg.UnhealthyAfter) + m.cfg.HealthTimeout
			if !waitForNewProcess(ctx, m.upstream, snap.PID, grace) {
				v = giveUp
			}
		}
		if v == giveUp {
			g.log.Warn("backend failed before answering; out of retries", "model", m.cfg.ID, "attempts", attempts+1, "err", res.err)
			e := apierror.Error{Status: http.StatusBadGateway, Type: apierror.TypeServer, Code: "backend_failed",
				Message: "the backend of model `" + m.cfg.ID + "` failed on every attempt: " + res.err.Error()}
			e.Write(w)
			return e.Status
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

// pausedError answers a request the pause did not let through.
func pausedError(w http.ResponseWriter, err error) int {
	var pe *intervention.PausedError
	if errors.As(err, &pe) {
		e := apierror.Unavailable("inference_paused", "inference is paused: "+pe.Reason, pe.RetryAfter)
		e.Write(w)
		return e.Status
	}
	return clientClosedRequest
}

func (g *Gateway) limiterError(w http.ResponseWriter, m *model, err error) int {
	switch {
	case errors.Is(err, errQueueFull):
		e := apierror.Error{Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "queue_full",
			Message: "model `" + m.cfg.ID + "` is at capacity and its queue is full", RetryAfter: time.Second}
		e.Write(w)
		return e.Status
	case errors.Is(err, errQueueTimeout):
		e := apierror.Unavailable("queue_timeout", "the request waited longer than queue_timeout ("+m.cfg.QueueTimeout.String()+") for model `"+m.cfg.ID+"`", 2*time.Second)
		e.Write(w)
		return e.Status
	}
	return clientClosedRequest
}

// tracker counts requests in flight so shutdown can wait for them.
type tracker struct {
	mu   sync.Mutex
	n    int
	zero chan struct{}
}

func (t *tracker) enter() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) leave() {
	t.mu.Lock()
	t.n--
	if t.n == 0 && t.zero != nil {
		close(t.zero)
		t.zero = nil
	}
	t.mu.Unlock()
}

func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.zero == nil {
		t.zero = make(chan struct{})
	}
	z := t.zero
	t.mu.Unlock()
	select {
	case <-z:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
