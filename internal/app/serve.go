// Package app assembles a running custos from its parts — store,
// supervisor, readiness gate, gateway, API and metrics — and runs it until
// its context ends, then shuts it down in the order that loses nothing.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"custos/internal/api"
	"custos/internal/auth"
	"custos/internal/changes"
	"custos/internal/config"
	"custos/internal/cors"
	"custos/internal/dashboard"
	"custos/internal/gateway"
	"custos/internal/httpserver"
	"custos/internal/intervention"
	"custos/internal/livestats"
	"custos/internal/metrics"
	"custos/internal/readiness"
	"custos/internal/remote"
	"custos/internal/scheduler"
	"custos/internal/supervisor"
)

// Options are what the CLI passes to Serve.
type Options struct {
	Version string
	Logger  *slog.Logger
	// Executable is the custos binary that runner backends run
	// (default: this process's executable).
	Executable string
	// Ready, if set, is called once the listener is open, with its address.
	Ready func(addr string)
	// Listener, if set, is a listener already open, served instead of one
	// on cfg.Listen (a socket handed over by a service manager; tests).
	Listener net.Listener
}

// Serve runs custos with cfg until ctx ends, then drains and stops. A
// listen failure is returned as a *config.Error (the address is a
// configuration mistake); other errors are runtime failures.
func Serve(ctx context.Context, cfg *config.Config, opts Options) error {
	log := opts.Logger
	startedAt := time.Now()

	// The store opens in the background, behind the gate: if it is slow,
	// custos listens, answers /livez and says it is warming meanwhile, and
	// the controller holds every request until it knows whether it is
	// paused.
	st, err := newStore(cfg, log)
	if err != nil {
		return err
	}
	pauses := intervention.NewRestoring(intervention.Config(cfg.Intervention), st, log)
	followFleet(st, pauses)
	storeOpened := make(chan struct{})
	go func() {
		defer close(storeOpened)
		openStore(st, pauses, cfg, log)
	}()
	// The controller closes before the store, so that no change (a
	// max_pause timer) is written to a closed store; shutdown closes both
	// once no request can reach them, and an early return closes them too.
	closeControl := sync.OnceFunc(func() {
		endOpening(st, storeOpened)
		pauses.Close()
		st.Close()
	})
	defer closeControl()

	reg := metrics.New()
	sup := supervisor.New(cfg, supervisor.Options{Logger: log, Executable: opts.Executable})
	set := newBackendSet(cfg, sup, log)
	backends := set.list

	gate := readiness.New(startedAt.Add(cfg.Readiness.Deadline),
		readiness.Subsystem{Name: readiness.StateStore, Source: readiness.SourceFunc(st.Readiness)},
		readiness.Subsystem{Name: readiness.Engine, Source: engineSource(cfg, backends)},
	)
	reg.MustRegister(metrics.NewStateCollector(
		func() []supervisor.Snapshot { return snapshots(backends) },
		func() (bool, map[string]string) { return gateState(gate) },
	))

	reg.MustRegister(metrics.NewInterventionCollector(func() (intervention.Counters, intervention.State) {
		return pauses.Counters(), pauses.State()
	}))

	upstreams := make(map[string]gateway.Upstream, len(backends))
	replicas := make(map[string]gateway.Replicas, len(set.pools))
	apiBackends := make([]api.Backend, len(backends))
	for i, b := range backends {
		switch b := b.(type) {
		case *supervisor.Backend:
			upstreams[cfg.Models[i].ID] = b
		case *remote.Pool:
			replicas[cfg.Models[i].ID] = b
		}
		apiBackends[i] = b
	}
	// The operator's live view: every change of /status fed to the events
	// stream, and the per-second figures the gateway records.
	feed := changes.New()
	live := livestats.New(modelIDs(cfg))
	sched := newScheduler(cfg, backends, reg, log, feed)
	gw := gateway.New(gateway.Options{
		Config: cfg, Upstreams: upstreams, Replicas: replicas, Gate: gate, Pause: pauses, Scheduler: sched, Metrics: reg, Live: live,
		Logger: log, StartedAt: startedAt,
	})
	feedCtx, stopFeed := context.WithCancel(context.Background())
	defer stopFeed()
	followChanges(feedCtx, feed, cfg, startedAt, backends, pauses, gw, storeOpened)
	// /metrics is an operator route on the main listener, or open on a
	// listener of its own (metrics_listen) for a scraper on a private port.
	var guardedMetrics http.Handler
	if cfg.MetricsListen == "" {
		guardedMetrics = reg.Handler()
	}
	adminKeys := auth.NewKeys(cfg.Admin.Token)
	endpoints := api.New(api.Options{
		Config: cfg, Backends: apiBackends, Gate: gate, Store: st, Metrics: guardedMetrics,
		Intervention: pauses, AdminKeys: adminKeys, Models: sched,
		Load: func(model string) api.Load {
			l := gw.Load(model)
			return api.Load{InFlight: l.InFlight, Queued: l.Queued}
		},
		Changes: feed.Changed, Live: live,
		Version: opts.Version, StartedAt: startedAt, Logger: log,
	})

	// The inference routes: custos's CORS policy first (a browser's
	// preflight carries no API key), then the API keys, then the gateway.
	mux := httpserver.NewMux()
	endpoints.Register(mux)
	dashboard.Register(mux, auth.NewGuard(adminKeys))
	inference := cors.New(cfg.CORS.AllowedOrigins).Wrap(auth.Require(auth.NewKeys(cfg.Auth.APIKeys...), gw.Handler()))
	mux.Handle("", "/v1/", inference)
	for _, p := range gateway.RootPaths() {
		mux.Handle("", p, inference) // llama-server's own names (/infill, /tokenize, ...)
	}

	// A store opens in milliseconds: wait that long, so custos starts with
	// its control state known, and listen while warming only when the store
	// takes longer (a file another process holds locked).
	select {
	case <-storeOpened:
	case <-time.After(storeOpenGrace):
		log.Warn("control-state store still opening; listening meanwhile, requests wait until it is open", "store", cfg.Store.Driver, "path", cfg.Store.Path)
	}

	limits := httpserver.Options{ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout, Logger: log}
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return &config.Error{Problems: []config.Problem{{Path: "listen", Message: fmt.Sprintf("cannot listen on %s: %v", cfg.Listen, err)}}}
		}
	}
	// Both addresses are bound before either serves: a client that finds the
	// main listener up finds /metrics up too, and a metrics_listen mistake
	// stops custos before it answered anyone.
	var mln net.Listener
	if cfg.MetricsListen != "" {
		var err error
		if mln, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			if opts.Listener == nil {
				_ = ln.Close()
			}
			return &config.Error{Problems: []config.Problem{{Path: "metrics_listen", Message: fmt.Sprintf("cannot listen on %s: %v", cfg.MetricsListen, err)}}}
		}
	}
	srv := httpserver.New(mux, limits)
	// The operator's streams never end by themselves: they end when the
	// listener's graceful shutdown begins, so it does not wait for them.
	srv.RegisterOnShutdown(endpoints.EndStreams)
	servers := []*http.Server{srv}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	if mln != nil {
		metricsMux := httpserver.NewMux()
		metricsMux.Handle("GET", "/metrics", reg.Handler())
		msrv := httpserver.New(metricsMux, limits)
		servers = append(servers, msrv)
		go func() { serveErr <- msrv.Serve(mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	log.Info("custos listening", "addr", ln.Addr().String(), "models", len(cfg.Models), "version", opts.Version)
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}

	supCtx, stopSupervisor := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSupervisor()
	sup.Start(supCtx)
	set.start(supCtx)
	go sched.Run(supCtx)

	var failure error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		// custos can no longer be reached: drain what is in flight and
		// exit with an error, so a service manager restarts it.
		failure = fmt.Errorf("http server failed: %w", err)
		log.Error("http server failed; shutting down", "err", err)
	}
	shutdown(cfg, log, gate, gw, servers, closeControl, sup, set)
	return failure
}

// shutdown closes readiness first so load balancers stop sending, lets
// in-flight requests finish within the shutdown timeout, and only then
// stops the backends that serve them.
func shutdown(cfg *config.Config, log *slog.Logger, gate *readiness.Gate, gw *gateway.Gateway, servers []*http.Server, closeControl func(), sup *supervisor.Supervisor, set *backendSet) {
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	gate.Drain()
	gw.Drain()
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := gw.Wait(drainCtx); err != nil {
		log.Warn("shutdown timeout reached with requests still in flight", "err", err)
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), listenerCloseTimeout)
	defer cancelClose()
	for _, srv := range servers {
		if err := srv.Shutdown(closeCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Warn("closing the listener", "err", err)
		}
	}
	closeControl()
	stopCtx, cancelStop := context.WithTimeout(context.Background(), stopBudget(cfg))
	defer cancelStop()
	if err := errors.Join(sup.Stop(stopCtx), set.stop(stopCtx)); err != nil {
		log.Warn("stopping backends", "err", err)
	}
	log.Info("stopped")
}

// newScheduler places the models in the memory budget, each counted at
// its configured override or its estimate until measured.
func newScheduler(cfg *config.Config, backends []modelBackend, reg *metrics.Metrics, log *slog.Logger, feed *changes.Feed) *scheduler.Scheduler {
	models := make([]scheduler.Model, len(cfg.Models))
	ids := make([]string, len(cfg.Models))
	for i := range cfg.Models {
		m := &cfg.Models[i]
		need, _, _ := m.Footprint()
		models[i] = scheduler.Model{ID: m.ID, Startup: m.Load == config.LoadStartup, Pinned: m.Pinned, TTL: m.TTL,
			Memory: need, GPUMemory: m.GPUFootprint(), Backend: backends[i]}
		if m.Backend == config.BackendRemote {
			// Never loaded, unloaded nor evicted here, and no memory of
			// this machine's: always admitting, so its requests pass the
			// scheduler at the cost of two atomics.
			models[i].Startup, models[i].Pinned, models[i].TTL, models[i].Memory, models[i].GPUMemory = true, true, 0, 0, 0
		}
		ids[i] = m.ID
	}
	sched := scheduler.New(scheduler.Budget{Memory: cfg.Resources.Memory, GPUMemory: cfg.Resources.GPUMemory}, models,
		notifyingObserver{Observer: reg.NewModels(), feed: feed}, log)
	reg.MustRegister(metrics.NewMemoryCollector(sched, ids))
	return sched
}

// listenerCloseTimeout bounds closing the listeners once the drain is over.
const listenerCloseTimeout = time.Second

// ExitBudget is the longest custos takes to exit after SIGTERM: the drain
// (shutdown_timeout), closing the listeners, then stopping the backends. A
// service manager's grace period before SIGKILL — Kubernetes'
// terminationGracePeriodSeconds — must cover it, or a drain is cut short.
func ExitBudget(cfg *config.Config) time.Duration {
	return cfg.ShutdownTimeout + listenerCloseTimeout + stopBudget(cfg)
}

// stopBudget is long enough for every backend's SIGTERM grace period plus
// the SIGKILL that follows it.
func stopBudget(cfg *config.Config) time.Duration {
	longest := time.Duration(0)
	for _, m := range cfg.Models {
		longest = max(longest, m.StopTimeout)
	}
	return longest + 5*time.Second
}

func snapshots(backends []modelBackend) []supervisor.Snapshot {
	snaps := make([]supervisor.Snapshot, len(backends))
	for i, b := range backends {
		snaps[i] = b.Snapshot()
	}
	return snaps
}

// engineSource derives the engine subsystem from the models' snapshots. A
// model loaded on demand is able to serve whenever it is not unhealthy:
// unloaded it loads for a request, and while it loads, unloads or
// restarts, requests wait for it — a readiness probe must not turn 503
// because a model idled out or is being loaded for a request.
func engineSource(cfg *config.Config, backends []modelBackend) readiness.Source {
	fallback := cfg.Fallback != nil
	return readiness.SourceFunc(func() (readiness.State, string) {
		m := readiness.Models{Total: len(backends)}
		for i, b := range backends {
			s := b.Snapshot()
			switch {
			case s.State == supervisor.StateReady:
				m.Ready++
			case s.State == supervisor.StateUnloaded:
				m.Unloaded++
			case s.State == supervisor.StateUnhealthy:
				m.Unhealthy++
			case !s.LastReady.IsZero() || cfg.Models[i].Load == config.LoadOnDemand:
				m.Recovering++
			}
		}
		return readiness.EngineState(m, fallback)
	})
}

func gateState(gate *readiness.Gate) (bool, map[string]string) {
	st := gate.Status()
	subs := make(map[string]string, len(st.Subsystems))
	for _, s := range st.Subsystems {
		subs[s.Name] = s.State.String()
	}
	return st.Open, subs
}

// storeOpenGrace is how long custos waits for its store before it listens
// anyway.
const storeOpenGrace = time.Second
