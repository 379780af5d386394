// Package gateway is custos's OpenAI-compatible front: it routes each
// inference request by the model its body names, holds it while the model
// is paused, queues it within the model's concurrency limit, waits for the
// backend to be ready, forwards it on a tuned connection pool, streams the
// answer back chunk by chunk, retries what failed before any byte reached
// the client, and sends what the model cannot serve to the fallback.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"custos/internal/apierror"
	"custos/internal/config"
	"custos/internal/httpserver"
	"custos/internal/livestats"
	"custos/internal/metrics"
	"custos/internal/resumable"
	"custos/internal/scheduler"
)

// Gate is the readiness gate.
type Gate interface{ Open() bool }

// Options wire the gateway.
type Options struct {
	Config    *config.Config
	Upstreams map[string]Upstream // by model id: the local backends
	Replicas  map[string]Replicas // by model id: the remote models
	Gate      Gate
	Pause     Pauser // optional: nil never holds a request
	// Scheduler loads models on demand within the memory budget; nil
	// keeps every model as its backend is.
	Scheduler *scheduler.Scheduler
	Metrics   *metrics.Metrics
	// Live hears every routed request as it ends, for the live figures;
	// nil hears nothing.
	Live      LiveStats
	Logger    *slog.Logger
	StartedAt time.Time
}

// LiveStats is where the gateway reports each routed request as it ends
// (*livestats.Stats). Record must not block and should not allocate: it
// runs on every request.
type LiveStats interface {
	Record(model string, o livestats.Outcome)
}

type noLiveStats struct{}

func (noLiveStats) Record(string, livestats.Outcome) {}

// Gateway serves /v1.
type Gateway struct {
	cfg       *config.Config
	gate      Gate
	pause     Pauser
	sched     *scheduler.Scheduler
	log       *slog.Logger
	startedAt time.Time
	models    map[string]*model
	order     []*model
	backends  *backendClient
	fallback  *fallback
	draining  atomic.Bool
	inFlight  tracker
	metrics   *metrics.Metrics
	live      LiveStats
	// streams keeps the streams of requests with an X-Conversation-Id, whichever backend or fallback
	// answered them, for clients that come back.
	streams *resumable.Store
	// loadChanged has a signal waiting when a model's requests in flight
	// or in line changed since LoadChanged was last read.
	loadChanged chan struct{}
}

// model is one configured model's routing state.
type model struct {
	cfg *config.Model
	// state is upstream or replicas, whichever the model has.
	state    watcher
	upstream Upstream
	replicas Replicas
	limiter  *limiter
	routes   map[string]*metrics.Route
}

// New returns the gateway.
func New(opts Options) *Gateway {
	g := &Gateway{
		cfg: opts.Config, gate: opts.Gate, pause: opts.Pause, sched: opts.Scheduler, log: opts.Logger, startedAt: opts.StartedAt,
		models: map[string]*model{}, metrics: opts.Metrics, live: opts.Live, loadChanged: make(chan struct{}, 1),
		streams: resumable.NewStore(),
	}
	if g.pause == nil {
		g.pause = noPause{}
	}
	if g.live == nil {
		g.live = noLiveStats{}
	}
	maxConc := 0
	for i := range opts.Config.Models {
		mc := &opts.Config.Models[i]
		maxConc = max(maxConc, mc.MaxConcurrency)
		any := opts.Metrics.Route(mc.ID, routes[0].label)
		paused := func() bool { return g.pause.Blocks(mc.ID) }
		m := &model{
			cfg: mc, upstream: opts.Upstreams[mc.ID],
			limiter: newLimiter(mc.MaxConcurrency, mc.QueueMax, paused, any.InFlight, any.Queued, g.signalLoad),
			routes:  map[string]*metrics.Route{},
		}
		m.state = m.upstream
		if rs, ok := opts.Replicas[mc.ID]; ok {
			m.state, m.replicas = rs, rs
		}
		for _, r := range routeLabels() {
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

// Handler serves the /v1 routes and the inference routes of RootPaths. A
// known route asked with another method gets 405 with Allow; an unknown
// /v1 path 404.
func (g *Gateway) Handler() http.Handler {
	mux := httpserver.NewMux()
	for i := range routes {
		mux.Handle("POST", routes[i].path, g.streams.Wrap(g.inference(&routes[i])))
	}
	mux.HandleFunc("GET", "/v1/models", g.gated(g.listModels))
	streams := resumable.Handlers{Store: g.streams, Error: writeStreamError, MaxBodyBytes: g.cfg.MaxBodyBytes}
	mux.HandleFunc("GET", "/v1/stream", streams.Replay)
	mux.HandleFunc("DELETE", "/v1/stream", streams.Stop)
	mux.HandleFunc("POST", "/v1/streams/lookup", streams.Lookup)
	mux.HandleFunc("", "/v1/", g.gated(httpserver.NotFound))
	return mux
}

// Drain makes every new inference request get 503 from now on, and has
// every request a pause holds answered at once the same way: a drain
// waits for the requests in flight, not for a pause to end.
func (g *Gateway) Drain() {
	g.draining.Store(true)
	g.pause.Drain()
}

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

// LoadChanged has a signal waiting whenever some model's requests in
// flight or in line changed since it was last received from: one reader
// (the events feed) learns of traffic without polling Load.
func (g *Gateway) LoadChanged() <-chan struct{} { return g.loadChanged }

// signalLoad leaves a signal on loadChanged if none waits; it never
// blocks.
func (g *Gateway) signalLoad() {
	select {
	case g.loadChanged <- struct{}{}:
	default:
	}
}

// inference handles one inference route.
func (g *Gateway) inference(rt *route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g.inFlight.enter()
		defer g.inFlight.leave()
		in, m, rejected := g.admit(w, r, rt)
		if rejected != nil {
			rejected.WriteIn(w, rt.envelope())
			g.metrics.CountUnrouted(rt.label, rejected.Status)
			return
		}
		rm := m.routes[rt.label]
		start := time.Now()
		res := g.serve(w, r, m, rm, in, start)
		rm.Count(res.status)
		rm.Latency.Observe(time.Since(start).Seconds())
		o := livestats.Outcome{Status: res.status, Interrupted: res.outcome == interrupted, Tokens: res.tokens}
		if !res.firstByte.IsZero() {
			o.TTFB = res.firstByte.Sub(start)
		}
		g.live.Record(m.cfg.ID, o)
		if res.outcome == interrupted {
			rm.Interrupted.Inc()
			if !res.sse {
				// A plain body cut short must not look complete: abort
				// the connection so the client sees the truncation.
				panic(http.ErrAbortHandler)
			}
		}
	}
}

// admit reads and routes an inference request, or says why it is
// answered before reaching any model.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, rt *route) (inference, *model, *apierror.Error) {
	if g.draining.Load() {
		e := shuttingDown(w)
		return inference{}, nil, &e
	}
	if !g.gate.Open() {
		e := gateClosed()
		return inference{}, nil, &e
	}
	body, err := httpserver.ReadBody(r, g.cfg.MaxBodyBytes)
	if err != nil {
		e := httpserver.BodyError(err, g.cfg.MaxBodyBytes, "max_body_bytes")
		return inference{}, nil, &e
	}
	in, perr := parseInference(body, rt)
	if perr != nil {
		return inference{}, nil, perr
	}
	mc, ok := g.cfg.Model(in.model)
	if !ok {
		e := apierror.NotFound("model_not_found", "the model `"+in.model+"` does not exist; GET /v1/models lists the models")
		return inference{}, nil, &e
	}
	return in, g.models[mc.ID], nil
}

// shuttingDown is the answer to a request custos will not serve because
// it is draining; the connection closes with it.
func shuttingDown(w http.ResponseWriter) apierror.Error {
	w.Header().Set("Connection", "close")
	return apierror.Unavailable("shutting_down", "custos is shutting down", 5*time.Second)
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
