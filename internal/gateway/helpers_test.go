package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/config"
	"custos/internal/livestats"
	"custos/internal/metrics"
	"custos/internal/supervisor"
)

// fakeUpstream is a supervised backend whose state the test sets.
type fakeUpstream struct {
	model    config.Model // the retry budget's settings
	mu       sync.Mutex
	snap     supervisor.Snapshot
	changed  chan struct{}
	failures atomic.Int32
	answers  atomic.Int32
}

func newUpstream(url string) *fakeUpstream {
	return &fakeUpstream{snap: supervisor.Snapshot{Model: "tiny", State: supervisor.StateReady, URL: url}, changed: make(chan struct{})}
}

func (u *fakeUpstream) Watch() (supervisor.Snapshot, <-chan struct{}) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.snap, u.changed
}

func (u *fakeUpstream) ReportFailure(error) { u.failures.Add(1) }

func (u *fakeUpstream) ReportAnswer(status int) { u.answers.Add(1) }

func (u *fakeUpstream) RetryBudget() *supervisor.RetryBudget {
	return supervisor.NewRetryBudget(&u.model)
}

func (u *fakeUpstream) set(f func(*supervisor.Snapshot)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f(&u.snap)
	close(u.changed)
	u.changed = make(chan struct{})
}

type openGate struct{ closed atomic.Bool }

func (g *openGate) Open() bool { return !g.closed.Load() }

// testModel is a model config with short, test-sized limits.
func testModel() config.Model {
	return config.Model{
		ID: "tiny", Aliases: []string{"default"}, MaxConcurrency: 2, QueueMax: 4, QueueTimeout: 5 * time.Second,
		RestartMax: 3, HealthTimeout: 100 * time.Millisecond,
	}
}

type fixture struct {
	gw       *Gateway
	upstream *fakeUpstream
	gate     *openGate
	server   *httptest.Server
	metrics  *metrics.Metrics
	live     *livestats.Stats
}

// newFixture runs a gateway in front of backend, on a real loopback server.
func newFixture(t testing.TB, backend http.Handler, edit func(*config.Config)) *fixture {
	t.Helper()
	be := httptest.NewServer(backend)
	t.Cleanup(be.Close)
	return newFixtureAt(t, be.URL, edit)
}

// newFixtureAt runs a gateway in front of the backend at url.
func newFixtureAt(t testing.TB, url string, edit func(*config.Config)) *fixture {
	t.Helper()
	cfg := &config.Config{Models: []config.Model{testModel()}, MaxBodyBytes: 1 << 20, Readiness: config.Readiness{Deadline: time.Hour}}
	if edit != nil {
		edit(cfg)
	}
	f := &fixture{upstream: newUpstream(url), gate: &openGate{}, metrics: metrics.New(), live: livestats.New([]string{"tiny"})}
	f.upstream.model = cfg.Models[0]
	f.gw = New(Options{
		Config: cfg, Upstreams: map[string]Upstream{"tiny": f.upstream}, Gate: f.gate,
		Metrics: f.metrics, Live: f.live, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), StartedAt: time.Now(),
	})
	f.server = httptest.NewServer(f.gw.Handler())
	t.Cleanup(f.server.Close)
	return f
}

type answer struct {
	status int
	header http.Header
	body   string
	err    error
}

func (f *fixture) post(path, body string) answer {
	resp, err := http.Post(f.server.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

const chatBody = `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`

func ok(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"object":"chat.completion","choices":[{"message":{"content":"hello"}}]}`)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// receive waits up to 10 s for a value from ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out after 10s waiting for %s", what)
	}
	var zero T
	return zero
}

func (f *fixture) get(path string) answer {
	resp, err := http.Get(f.server.URL + path)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// scrape returns the fixture's metrics in the Prometheus text format.
func (f *fixture) scrape(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	f.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}
