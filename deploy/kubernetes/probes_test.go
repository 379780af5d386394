package kubernetes

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"custos/internal/api"
	"custos/internal/config"
	"custos/internal/httpserver"
	"custos/internal/readiness"
)

// probeServer serves custos's own endpoints, as `custos serve` mounts
// them, with its readiness gate in the given state.
func probeServer(t *testing.T, cfg *config.Config, engine readiness.State) *httptest.Server {
	t.Helper()
	gate := readiness.New(time.Time{}, readiness.Subsystem{Name: readiness.Engine,
		Source: readiness.SourceFunc(func() (readiness.State, string) { return engine, "" })})
	mux := httpserver.NewMux()
	api.New(api.Options{Config: cfg, Gate: gate, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func probeStatus(t *testing.T, srv *httptest.Server, p *corev1.Probe) int {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(srv.URL + p.HTTPGet.Path)
	if err != nil {
		t.Fatalf("probe %s: %v", p.HTTPGet.Path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestProbesAreCustosRoutesOnItsListenPort asks custos's own handlers what
// each probe would see: liveness must answer 200 even when the gate is
// shut (a liveness probe that followed the backends would have the kubelet
// restart custos for a model it cannot mend), readiness 503 while the gate
// is shut and 200 once it is open. A renamed route answers 404 and fails.
func TestProbesAreCustosRoutesOnItsListenPort(t *testing.T) {
	for _, tr := range tiers(t, loadManifests(t)) {
		t.Run(tr.name, func(t *testing.T) {
			cfg := tr.load(t)
			live, ready := tr.container.LivenessProbe, tr.container.ReadinessProbe
			if live == nil || ready == nil || live.HTTPGet == nil || ready.HTTPGet == nil {
				t.Fatal("want an httpGet liveness and readiness probe")
			}
			want := tr.listenPort(t)
			for _, p := range []*corev1.Probe{live, ready} {
				if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP {
					t.Errorf("probe %s: scheme %s; custos serves plain HTTP", p.HTTPGet.Path, p.HTTPGet.Scheme)
				}
				if port, ok := containerPort(tr.container, p.HTTPGet.Port); !ok || port != want {
					t.Errorf("probe %s: port %s is container port %d, custos listens on %d", p.HTTPGet.Path, p.HTTPGet.Port.String(), port, want)
				}
			}
			shut, open := probeServer(t, cfg, readiness.Failed), probeServer(t, cfg, readiness.Ready)
			if got := probeStatus(t, shut, live); got != http.StatusOK {
				t.Errorf("liveness %s answers %d with the gate shut; want 200 (it must not follow the backends)", live.HTTPGet.Path, got)
			}
			if got := probeStatus(t, shut, ready); got != http.StatusServiceUnavailable {
				t.Errorf("readiness %s answers %d with the gate shut; want 503", ready.HTTPGet.Path, got)
			}
			if got := probeStatus(t, open, ready); got != http.StatusOK {
				t.Errorf("readiness %s answers %d with the gate open; want 200", ready.HTTPGet.Path, got)
			}
		})
	}
}
