package health

import (
	"encoding/json"
	"testing"

	"custos/internal/supervisor"
)

func TestDefaultModelDrivesTheSeedFields(t *testing.T) {
	cases := []struct {
		state        supervisor.State
		status, warm string
		ok           bool
	}{
		{supervisor.StateLoading, "starting", "loading", false},
		{supervisor.StateUnloaded, "ok", "unloaded", true},
		{supervisor.StateBackoff, "starting", "loading", false},
		{supervisor.StateReady, "ok", "ready", true},
		{supervisor.StateUnhealthy, "unhealthy", "unhealthy", false},
	}
	for _, tc := range cases {
		r := Build([]supervisor.Snapshot{
			{Model: "tiny", Backend: supervisor.BackendNameRunner, State: tc.state},
			{Model: "other", Backend: supervisor.BackendNameLlamaServer, State: supervisor.StateReady},
		}, 0)
		if r.Status != tc.status || r.WarmUpState != tc.warm || r.OK() != tc.ok || r.Model != "tiny" || r.Backend != "custos-runner" {
			t.Errorf("%v: got %+v", tc.state, r)
		}
	}
}

func TestJSONShape(t *testing.T) {
	r := Build([]supervisor.Snapshot{{Model: "tiny", Backend: "llama-server", State: supervisor.StateReady, Progress: 1, Restarts: 2, LastExit: "exit status 1"}}, 0)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"status", "model", "backend", "warm_up_state", "models"} {
		if _, ok := got[key]; !ok {
			t.Errorf("missing %q in %s", key, b)
		}
	}
	m := got["models"].([]any)[0].(map[string]any)
	for _, key := range []string{"model", "status", "warm_up_state", "state", "progress", "restarts", "last_exit"} {
		if _, ok := m[key]; !ok {
			t.Errorf("missing models[0].%q in %s", key, b)
		}
	}
}

func TestNoModels(t *testing.T) {
	if r := Build(nil, 0); r.OK() || r.Status != "starting" {
		t.Fatalf("got %+v", r)
	}
}

// The default model is the one named by its index, not always the first.
func TestDefaultModelIsTheOneGiven(t *testing.T) {
	r := Build([]supervisor.Snapshot{
		{Model: "big", Backend: supervisor.BackendNameLlamaServer, State: supervisor.StateLoading},
		{Model: "tiny", Backend: supervisor.BackendNameRunner, State: supervisor.StateReady},
	}, 1)
	if r.Model != "tiny" || !r.OK() || len(r.Models) != 2 {
		t.Fatalf("got %+v", r)
	}
}
