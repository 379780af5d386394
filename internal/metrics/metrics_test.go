package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"custos/internal/intervention"
	"custos/internal/supervisor"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestRequestMetrics(t *testing.T) {
	m := New()
	r := m.Route("tiny", "chat")
	if m.Route("tiny", "chat") != r {
		t.Fatal("routes must be resolved once")
	}
	r.Count(200)
	r.Count(200)
	r.Count(429)
	r.Latency.Observe(0.01)
	r.TTFB.Observe(0.001)
	r.Queued.Inc()
	r.InFlight.Set(3)
	r.Retries.Inc()
	r.Fallbacks.Inc()
	out := scrape(t, m)
	for _, want := range []string{
		`custos_requests_total{code="200",model="tiny",route="chat"} 2`,
		`custos_requests_total{code="429",model="tiny",route="chat"} 1`,
		`custos_request_duration_seconds_count{model="tiny",route="chat"} 1`,
		`custos_time_to_first_byte_seconds_count{model="tiny",route="chat"} 1`,
		`custos_queue_depth{model="tiny"} 1`,
		`custos_in_flight_requests{model="tiny"} 3`,
		`custos_retries_total{model="tiny"} 1`,
		`custos_fallback_requests_total{model="tiny"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func TestStateCollector(t *testing.T) {
	m := New()
	m.MustRegister(NewStateCollector(
		func() []supervisor.Snapshot {
			return []supervisor.Snapshot{{Model: "tiny", State: supervisor.StateUnhealthy, Restarts: 4, Progress: 0.5}}
		},
		func() (bool, map[string]string) {
			return false, map[string]string{"engine": "Failed", "state_store": "Ready"}
		},
	))
	out := scrape(t, m)
	for _, want := range []string{
		`custos_backend_state{model="tiny",state="unhealthy"} 1`,
		`custos_backend_state{model="tiny",state="ready"} 0`,
		`custos_backend_restarts_total{model="tiny"} 4`,
		`custos_backend_load_progress{model="tiny"} 0.5`,
		`custos_readiness_gate_open 0`,
		`custos_readiness_subsystem_state{state="Failed",subsystem="engine"} 1`,
		`custos_readiness_subsystem_state{state="Ready",subsystem="state_store"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func TestInterventionCollector(t *testing.T) {
	m := New()
	m.MustRegister(NewInterventionCollector(func() (intervention.Counters, intervention.State) {
		return intervention.Counters{PausesTotal: 2, RequestsWaiting: 5, RequestsTimedOut: 1},
			intervention.State{Wellbeing: intervention.Concerned, Models: map[string]*intervention.Pause{"tiny": {Reason: "x"}}}
	}))
	out := scrape(t, m)
	for _, want := range []string{
		`custos_intervention_pauses_total 2`,
		`custos_intervention_requests_waiting 5`,
		`custos_intervention_requests_timed_out_total 1`,
		`custos_intervention_paused{scope="tiny"} 1`,
		`custos_intervention_wellbeing{state="concerned"} 1`,
		`custos_intervention_wellbeing{state="healthy"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}
