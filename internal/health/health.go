// Package health builds the /health snapshot of seed 000: the default
// model's {status, model, backend, warm_up_state}, extended with every
// model's own snapshot so one request shows the whole runtime.
package health

import (
	"custos/internal/supervisor"
)

// Report is the /health body.
type Report struct {
	// Status is ok, starting or unhealthy — the default model's.
	Status string `json:"status"`
	// Model is the default model's id.
	Model string `json:"model"`
	// Backend is "llama-server", "custos-runner", or "remote" for a model on other hosts.
	Backend string `json:"backend"`
	// WarmUpState is loading, ready, unhealthy or unloaded.
	WarmUpState string `json:"warm_up_state"`
	// Models holds every model's snapshot, in configuration order.
	Models []Model `json:"models"`
}

// Model is one model's entry in the report.
type Model struct {
	supervisor.Snapshot
	Status      string `json:"status"`
	WarmUpState string `json:"warm_up_state"`
	State       string `json:"state"`
}

// Build makes the report from the models' snapshots; snaps[def] is the
// default model's. It is pure, so it is tested without processes.
func Build(snaps []supervisor.Snapshot, def int) Report {
	r := Report{Status: "starting", WarmUpState: "loading", Models: make([]Model, 0, len(snaps))}
	for i, s := range snaps {
		m := Model{Snapshot: s, Status: s.Status(), WarmUpState: s.WarmUpState(), State: s.State.String()}
		if i == def {
			r.Status, r.Model, r.Backend, r.WarmUpState = m.Status, s.Model, s.Backend, m.WarmUpState
		}
		r.Models = append(r.Models, m)
	}
	return r
}

// OK reports whether /health answers 200: the default model is ready, or
// unloaded and loaded when a request names it.
func (r Report) OK() bool { return r.Status == "ok" }
