package api

import (
	"net/http"
	"time"

	"custos/internal/readiness"
	"custos/internal/remote"
	"custos/internal/scheduler"
	"custos/internal/supervisor"
)

// Status is the body of GET /status; `custos status` renders it.
type Status struct {
	Version   string           `json:"version"`
	StartedAt time.Time        `json:"started_at"`
	Uptime    string           `json:"uptime"`
	Gate      readiness.Status `json:"gate"`
	Store     StoreStatus      `json:"store"`
	Fallback  *FallbackStatus  `json:"fallback,omitempty"`
	// Memory is the budget the loaded models fit in, and what they take.
	Memory *MemoryStatus `json:"memory,omitempty"`
	// Intervention is the pause controller's state and counters.
	Intervention *InterventionStatus `json:"intervention,omitempty"`
	Models       []ModelStatus       `json:"models"`
}

// MemoryStatus is the memory budget and its use.
type MemoryStatus struct {
	Budget   int64 `json:"budget"`
	Resident int64 `json:"resident"`
}

// StoreStatus describes the control-state store.
type StoreStatus struct {
	Kind string `json:"kind"`
}

// FallbackStatus describes the fallback upstream (never its key).
type FallbackStatus struct {
	URL string `json:"url"`
}

// ModelStatus is one model: its supervisor snapshot, its traffic, and the
// last lines its backend printed.
type ModelStatus struct {
	supervisor.Snapshot
	State       string   `json:"state"`
	Status      string   `json:"status"`
	WarmUpState string   `json:"warm_up_state"`
	Aliases     []string `json:"aliases,omitempty"`
	Load
	// Placement is where the model stands in the memory budget.
	Placement *scheduler.Info `json:"placement,omitempty"`
	LogTail   []string        `json:"log_tail,omitempty"`
	// Replicas are a remote model's servers, each with its own state.
	Replicas []remote.ReplicaStatus `json:"replicas,omitempty"`
}

// replicated is a backend of several replicas (*remote.Pool).
type replicated interface {
	Replicas() []remote.ReplicaStatus
}

// statusLogTail is how many backend output lines /status shows per model.
const statusLogTail = 20

func (a *API) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.Status())
}

// Status assembles the current status.
func (a *API) Status() Status {
	st := Status{
		Version:   a.opts.Version,
		StartedAt: a.opts.StartedAt,
		Uptime:    time.Since(a.opts.StartedAt).Round(time.Second).String(),
		Gate:      a.opts.Gate.Status(),
		Store:     StoreStatus{Kind: a.opts.Store.Kind()},
	}
	if a.opts.Intervention != nil {
		is := a.InterventionStatus()
		st.Intervention = &is
	}
	if p := a.opts.Models; p != nil {
		st.Memory = &MemoryStatus{Budget: p.Budget(), Resident: p.Resident()}
	}
	if f := a.opts.Config.Fallback; f != nil {
		st.Fallback = &FallbackStatus{URL: f.URL}
	}
	for i, b := range a.opts.Backends {
		s := b.Snapshot()
		logs := b.Logs()
		if len(logs) > statusLogTail {
			logs = logs[len(logs)-statusLogTail:]
		}
		var placement *scheduler.Info
		if p := a.opts.Models; p != nil {
			if in, ok := p.Info(s.Model); ok {
				placement = &in
			}
		}
		var replicas []remote.ReplicaStatus
		if rb, ok := b.(replicated); ok {
			replicas = rb.Replicas()
		}
		st.Models = append(st.Models, ModelStatus{
			Replicas:    replicas,
			Placement:   placement,
			Snapshot:    s,
			State:       s.State.String(),
			Status:      s.Status(),
			WarmUpState: s.WarmUpState(),
			Aliases:     a.opts.Config.Models[i].Aliases,
			Load:        a.opts.Load(s.Model),
			LogTail:     logs,
		})
	}
	return st
}
