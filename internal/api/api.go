// Package api serves custos's own endpoints — everything that is not
// inference: /health (seed 000), /livez and /readyz for Kubernetes,
// /status for operators and `custos status`, and the admin routes. None of
// them passes through the readiness gate: they are how one finds out why
// the gate is shut.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"custos/internal/apierror"
	"custos/internal/auth"
	"custos/internal/config"
	"custos/internal/httpserver"
	"custos/internal/intervention"
	"custos/internal/livestats"
	"custos/internal/readiness"
	"custos/internal/scheduler"
	"custos/internal/store"
	"custos/internal/supervisor"
)

// Backend is what the API needs of a supervised backend.
type Backend interface {
	Snapshot() supervisor.Snapshot
	Restart()
	Logs() []string
}

// LogFollower is a Backend whose output can be followed live
// (*supervisor.Backend): the lines held and a subscription to the later
// ones. A backend custos does not run as a process has none.
type LogFollower interface {
	FollowLogs() ([]supervisor.LogLine, *supervisor.LogSubscription)
}

// Placer is the model scheduler as the API uses it (*scheduler.Scheduler).
type Placer interface {
	Load(ctx context.Context, id string) error
	Unload(ctx context.Context, id, actor string) error
	Info(id string) (scheduler.Info, bool)
	Budget() int64
	Resident() int64
}

// Load is a model's current traffic, as the gateway counts it.
type Load struct {
	InFlight int `json:"in_flight"`
	Queued   int `json:"queued"`
}

// Options wires the API to the rest of custos.
type Options struct {
	Config   *config.Config
	Backends []Backend // configuration order
	Gate     *readiness.Gate
	Store    store.Store
	// Intervention is the pause controller.
	Intervention *intervention.Controller
	// AdminKeys guard the operator routes; empty means loopback clients only.
	AdminKeys *auth.Keys
	// Models loads and unloads models on an operator's request and says
	// where each stands in the memory budget; nil: none of that.
	Models Placer
	// Load reports a model's traffic; nil reports none.
	Load func(model string) Load
	// Metrics serves /metrics behind the admin guard; nil when /metrics
	// has a listener of its own (metrics_listen).
	Metrics http.Handler
	// Changes returns a channel closed at the next change of what /status
	// shows (changes.Feed's Changed); nil: /admin/events sends the status
	// at connect only.
	Changes func() <-chan struct{}
	// Live holds the per-second figures of /admin/events; nil: a fresh,
	// empty one.
	Live      LiveFigures
	Version   string
	StartedAt time.Time
	Logger    *slog.Logger
}

// API holds the handlers.
type API struct {
	opts  Options
	guard *auth.Guard
	// streamsEnd is closed by EndStreams.
	streamsEnd chan struct{}
	endOnce    sync.Once
	// streamWriteTimeout bounds each write of an event stream
	// (streamWriteTimeout; tests shorten it).
	streamWriteTimeout time.Duration
}

// New returns the API.
func New(opts Options) *API {
	if opts.Load == nil {
		opts.Load = func(string) Load { return Load{} }
	}
	if opts.Live == nil {
		ids := make([]string, len(opts.Config.Models))
		for i, m := range opts.Config.Models {
			ids[i] = m.ID
		}
		opts.Live = livestats.New(ids)
	}
	return &API{opts: opts, guard: auth.NewGuard(opts.AdminKeys), streamsEnd: make(chan struct{}), streamWriteTimeout: streamWriteTimeout}
}

// admin guards an operator route (auth.Guard).
func (a *API) admin(next http.HandlerFunc) http.HandlerFunc { return a.guard.Wrap(next) }

// Register mounts the endpoints on mux. The probes are open: a load
// balancer or kubelet reads them, and they say only whether custos
// serves. Everything that shows more (/status: backend output, pause
// reasons; /metrics; the audit log; the profiler) or changes anything is
// an operator route behind the guard.
func (a *API) Register(mux *httpserver.Mux) {
	mux.HandleFunc("GET", "/health", a.health)
	mux.HandleFunc("GET", "/livez", a.livez)
	mux.HandleFunc("GET", "/readyz", a.readyz)
	mux.HandleFunc("GET", "/status", a.admin(a.status))
	mux.HandleFunc("POST", "/admin/session", a.guard.WrapLogin(a.login))
	mux.HandleFunc("DELETE", "/admin/session", a.guard.WrapLogin(a.logout))
	mux.HandleFunc("POST", "/admin/models/{model}/restart", a.admin(a.restart))
	mux.HandleFunc("POST", "/admin/models/{model}/load", a.admin(a.load))
	mux.HandleFunc("POST", "/admin/models/{model}/unload", a.admin(a.unload))
	mux.HandleFunc("POST", "/admin/pause", a.admin(a.pause))
	mux.HandleFunc("POST", "/admin/resume", a.admin(a.resume))
	mux.HandleFunc("POST", "/admin/wellbeing", a.admin(a.wellbeing))
	mux.HandleFunc("GET", "/admin/intervention", a.admin(a.interventionStatus))
	mux.HandleFunc("GET", "/admin/audit", a.admin(a.audit))
	mux.HandleFunc("GET", "/admin/events", a.admin(a.events))
	mux.HandleFunc("GET", "/admin/models/{model}/logs", a.admin(a.logs))
	a.registerDebug(mux)
	if a.opts.Metrics != nil {
		mux.HandleFunc("GET", "/metrics", a.admin(a.opts.Metrics.ServeHTTP))
	}
}

func (a *API) snapshots() []supervisor.Snapshot {
	snaps := make([]supervisor.Snapshot, len(a.opts.Backends))
	for i, b := range a.opts.Backends {
		snaps[i] = b.Snapshot()
	}
	return snaps
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError writes an OpenAI-shaped error.
func writeError(w http.ResponseWriter, status int, errType, code, message string) {
	apierror.Error{Status: status, Type: errType, Code: code, Message: message}.Write(w)
}
