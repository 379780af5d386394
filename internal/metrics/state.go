package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"custos/internal/supervisor"
)

// stateCollector reads backend snapshots and the gate when scraped.
type stateCollector struct {
	snapshots func() []supervisor.Snapshot
	gate      func() (open bool, subsystems map[string]string)

	state, restarts, progress, gateOpen, subsystem *prometheus.Desc
}

var (
	backendStates = []supervisor.State{supervisor.StateStopped, supervisor.StateLoading, supervisor.StateReady, supervisor.StateBackoff,
		supervisor.StateUnhealthy, supervisor.StateStopping, supervisor.StateUnloaded, supervisor.StateUnloading}
	readinessStates = []string{"Warming", "Ready", "Degraded", "Failed"}
)

// NewStateCollector exports backend state, restarts and load progress per
// model, and the readiness gate, read at scrape time.
func NewStateCollector(snapshots func() []supervisor.Snapshot, gate func() (bool, map[string]string)) prometheus.Collector {
	return &stateCollector{
		snapshots: snapshots, gate: gate,
		state:     prometheus.NewDesc("custos_backend_state", "1 for the state the model's backend is in.", []string{"model", "state"}, nil),
		restarts:  prometheus.NewDesc("custos_backend_restarts_total", "Restarts of the model's backend since custos started.", []string{"model"}, nil),
		progress:  prometheus.NewDesc("custos_backend_load_progress", "Load progress the backend reports, 0 to 1 (-1: none reported).", []string{"model"}, nil),
		gateOpen:  prometheus.NewDesc("custos_readiness_gate_open", "1 when the readiness gate is open.", nil, nil),
		subsystem: prometheus.NewDesc("custos_readiness_subsystem_state", "1 for the state each readiness subsystem is in.", []string{"subsystem", "state"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.restarts, c.progress, c.gateOpen, c.subsystem} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.snapshots() {
		for _, st := range backendStates {
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, oneIf(s.State == st), s.Model, st.String())
		}
		ch <- prometheus.MustNewConstMetric(c.restarts, prometheus.CounterValue, float64(s.Restarts), s.Model)
		ch <- prometheus.MustNewConstMetric(c.progress, prometheus.GaugeValue, s.Progress, s.Model)
	}
	open, subs := c.gate()
	ch <- prometheus.MustNewConstMetric(c.gateOpen, prometheus.GaugeValue, oneIf(open))
	for name, state := range subs {
		for _, st := range readinessStates {
			ch <- prometheus.MustNewConstMetric(c.subsystem, prometheus.GaugeValue, oneIf(state == st), name, st)
		}
	}
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
