package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"custos/internal/auth"
	"custos/internal/config"
	"custos/internal/httpserver"
	"custos/internal/intervention"
	"custos/internal/readiness"
	"custos/internal/store"
	"custos/internal/supervisor"
)

type fakeBackend struct {
	mu        sync.Mutex
	snap      supervisor.Snapshot
	restarted int
	logs      []string
	ring      *supervisor.LogRing
}

func (f *fakeBackend) Snapshot() supervisor.Snapshot { f.mu.Lock(); defer f.mu.Unlock(); return f.snap }

// setState changes the state while other goroutines read it.
func (f *fakeBackend) setState(s supervisor.State) { f.mu.Lock(); f.snap.State = s; f.mu.Unlock() }
func (f *fakeBackend) Restart()                    { f.restarted++ }
func (f *fakeBackend) Logs() []string              { return f.logs }
func (f *fakeBackend) FollowLogs() ([]supervisor.LogLine, *supervisor.LogSubscription) {
	return f.ring.Follow(16)
}

type engineState struct{ s readiness.State }

func (e *engineState) Readiness() (readiness.State, string) { return e.s, "detail" }

func newAPI(state supervisor.State) (*API, *fakeBackend, *engineState) {
	cfg := &config.Config{
		Models:       []config.Model{{ID: "tiny", Aliases: []string{"default"}}},
		Intervention: config.Intervention{Enabled: true, PauseOnDistressed: true, MaxPause: time.Hour, WaitTimeout: time.Minute},
	}
	b := &fakeBackend{snap: supervisor.Snapshot{Model: "tiny", Backend: supervisor.BackendNameRunner, State: state, Progress: -1}, ring: supervisor.NewLogRing(100)}
	for i := range 30 {
		b.logs = append(b.logs, "line "+string(rune('a'+i%26)))
	}
	st := store.NewMemory()
	eng := &engineState{readiness.Warming}
	gate := readiness.New(time.Time{},
		readiness.Subsystem{Name: readiness.StateStore, Source: readiness.SourceFunc(st.Readiness)},
		readiness.Subsystem{Name: readiness.Engine, Source: eng})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ic := intervention.New(intervention.Config(cfg.Intervention), st, intervention.State{}, log)
	a := New(Options{Config: cfg, Backends: []Backend{b}, Gate: gate, Store: st, Intervention: ic,
		AdminKeys: auth.NewKeys(), Version: "test", StartedAt: time.Now(), Logger: log})
	return a, b, eng
}

func serve(a *API, method, target, remote string) *httptest.ResponseRecorder {
	return serveBody(a, method, target, remote, "", "")
}

func serveBody(a *API, method, target, remote, body, token string) *httptest.ResponseRecorder {
	mux := httpserver.NewMux()
	a.Register(mux)
	if method == "POST" && body == "" {
		body = "{}"
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:8080"+target, strings.NewReader(body))
	if method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.RemoteAddr = "127.0.0.1:4000"
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestHealthIs503UntilReady(t *testing.T) {
	a, b, _ := newAPI(supervisor.StateLoading)
	rec := serve(a, "GET", "/health", "")
	if rec.Code != 503 {
		t.Fatalf("loading: got %d", rec.Code)
	}
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if body["status"] != "starting" || body["warm_up_state"] != "loading" || body["backend"] != "custos-runner" || body["model"] != "tiny" {
		t.Fatalf("unexpected body %s", rec.Body)
	}
	b.snap.State = supervisor.StateReady
	if rec := serve(a, "GET", "/health", ""); rec.Code != 200 {
		t.Fatalf("ready: got %d", rec.Code)
	}
	b.snap.State = supervisor.StateUnhealthy
	if rec := serve(a, "GET", "/health", ""); rec.Code != 503 || !strings.Contains(rec.Body.String(), `"unhealthy"`) {
		t.Fatalf("unhealthy: got %d %s", rec.Code, rec.Body)
	}
}

func TestReadyzFollowsTheGate(t *testing.T) {
	a, _, eng := newAPI(supervisor.StateLoading)
	if rec := serve(a, "GET", "/readyz", ""); rec.Code != 503 {
		t.Fatalf("warming: got %d", rec.Code)
	}
	eng.s = readiness.Degraded
	if rec := serve(a, "GET", "/readyz", ""); rec.Code != 200 {
		t.Fatalf("degraded counts as ready: got %d", rec.Code)
	}
	eng.s = readiness.Failed
	rec := serve(a, "GET", "/readyz?verbose", "")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "[+]state_store Ready") || !strings.Contains(rec.Body.String(), "[-]engine Failed: detail") {
		t.Fatalf("verbose: got %d %q", rec.Code, rec.Body)
	}
	eng.s = readiness.Ready
	a.opts.Gate.Drain()
	if rec := serve(a, "GET", "/readyz?verbose", ""); rec.Code != 503 || !strings.Contains(rec.Body.String(), "shutting down") {
		t.Fatalf("draining: got %d %q", rec.Code, rec.Body)
	}
}

func TestLivezIgnoresBackends(t *testing.T) {
	a, _, eng := newAPI(supervisor.StateUnhealthy)
	eng.s = readiness.Failed
	if rec := serve(a, "GET", "/livez", ""); rec.Code != 200 {
		t.Fatalf("got %d", rec.Code)
	}
}

func TestStatusShowsGateModelsAndLogTail(t *testing.T) {
	a, _, _ := newAPI(supervisor.StateReady)
	rec := serve(a, "GET", "/status", "")
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Gate.Subsystems) != 2 || st.Store.Kind != "memory" || len(st.Models) != 1 {
		t.Fatalf("unexpected status: %s", rec.Body)
	}
	m := st.Models[0]
	if m.State != "ready" || m.Status != "ok" || len(m.LogTail) != statusLogTail || m.Aliases[0] != "default" {
		t.Fatalf("unexpected model: %+v", m)
	}
}

func TestRestartIsLoopbackOnly(t *testing.T) {
	a, b, _ := newAPI(supervisor.StateUnhealthy)
	if rec := serve(a, "POST", "/admin/models/default/restart", "192.0.2.1:5555"); rec.Code != 403 {
		t.Fatalf("remote client: got %d", rec.Code)
	}
	if b.restarted != 0 {
		t.Fatal("a remote client restarted the backend")
	}
	if rec := serve(a, "POST", "/admin/models/default/restart", "127.0.0.1:5555"); rec.Code != 202 {
		t.Fatalf("loopback via alias: got %d %s", rec.Code, rec.Body)
	}
	if b.restarted != 1 {
		t.Fatal("restart not delivered")
	}
	rec := serve(a, "POST", "/admin/models/nope/restart", "127.0.0.1:5555")
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"model_not_found"`) {
		t.Fatalf("unknown model: got %d %s", rec.Code, rec.Body)
	}
}

func TestProfilerIsAdminOnly(t *testing.T) {
	a, _, _ := newAPI(supervisor.StateReady)
	if rec := serve(a, "GET", "/debug/pprof/goroutine?debug=1", "192.0.2.1:5555"); rec.Code != 403 {
		t.Fatalf("remote client: got %d", rec.Code)
	}
	rec := serve(a, "GET", "/debug/pprof/goroutine?debug=1", "127.0.0.1:5555")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "goroutine profile") {
		t.Fatalf("loopback: got %d %.200s", rec.Code, rec.Body)
	}
}
