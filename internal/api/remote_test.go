package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"custos/internal/auth"
	"custos/internal/config"
	"custos/internal/readiness"
	"custos/internal/remote"
	"custos/internal/scheduler"
	"custos/internal/store"
)

// placer is a scheduler that must not be asked about a remote model.
type placer struct{ asked int }

func (p *placer) Load(context.Context, string) error           { p.asked++; return nil }
func (p *placer) Unload(context.Context, string, string) error { p.asked++; return nil }
func (p *placer) Info(string) (scheduler.Info, bool)           { return scheduler.Info{}, false }
func (p *placer) Budget() int64                                { return 0 }
func (p *placer) Resident() int64                              { return 0 }

func remoteAPI(t *testing.T) (*API, *placer) {
	t.Helper()
	m := config.Model{ID: "tiny", Backend: config.BackendRemote, MaxConcurrency: 4, HealthInterval: time.Second, HealthTimeout: time.Second,
		Remote: &config.Remote{URLs: []string{"http://10.0.0.1:8080", "http://10.0.0.2:8080"}, Balance: config.BalanceLeastRequests, UpstreamModel: "tiny"}}
	cfg := &config.Config{Models: []config.Model{m}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := remote.New(m, remote.Options{Logger: log})
	st := store.NewMemory()
	gate := readiness.New(time.Time{}, readiness.Subsystem{Name: readiness.StateStore, Source: readiness.SourceFunc(st.Readiness)})
	p := &placer{}
	a := New(Options{Config: cfg, Backends: []Backend{pool}, Gate: gate, Store: st, Models: p,
		AdminKeys: auth.NewKeys(), Version: "test", StartedAt: time.Now(), Logger: log,
		Load: func(string) Load { return Load{} }})
	return a, p
}

// /status lists a remote model's replicas, each with its own state.
func TestStatusShowsEachReplicaOfARemoteModel(t *testing.T) {
	a, _ := remoteAPI(t)
	rec := serve(a, "GET", "/status", "")
	var st struct {
		Models []struct {
			Backend  string `json:"backend"`
			State    string `json:"state"`
			Replicas []struct {
				URL      string `json:"url"`
				State    string `json:"state"`
				Reason   string `json:"reason"`
				InFlight *int   `json:"in_flight"`
			} `json:"replicas"`
		} `json:"models"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != 200 {
		t.Fatalf("%d %v: %s", rec.Code, err, rec.Body)
	}
	m := st.Models[0]
	if m.Backend != "remote" || m.State != "loading" || len(m.Replicas) != 2 || m.Replicas[1].URL != "http://10.0.0.2:8080" ||
		m.Replicas[0].State != "loading" || m.Replicas[0].Reason == "" || m.Replicas[0].InFlight == nil {
		t.Fatalf("status: %s", rec.Body)
	}
}

// custos neither loads nor unloads a remote model: the routes say so and
// leave the scheduler alone.
func TestLoadAndUnloadRefuseARemoteModel(t *testing.T) {
	a, p := remoteAPI(t)
	for _, op := range []string{"load", "unload"} {
		rec := serve(a, "POST", "/admin/models/tiny/"+op, "")
		if rec.Code != 409 || !strings.Contains(rec.Body.String(), `"code":"remote_model"`) {
			t.Fatalf("%s: %d %s", op, rec.Code, rec.Body)
		}
	}
	if p.asked != 0 {
		t.Fatalf("the scheduler was asked %d times", p.asked)
	}
}
