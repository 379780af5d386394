package main

import (
	"strings"
	"testing"
	"time"

	"custos/internal/api"
	"custos/internal/remote"
	"custos/internal/supervisor"
)

// custos status lists a remote model's replicas under the models, with
// when an ejected one may come back and its last probe's error.
func TestStatusRendersTheReplicasOfARemoteModel(t *testing.T) {
	until := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	st := api.Status{Models: []api.ModelStatus{{
		Snapshot: supervisor.Snapshot{Model: "chat", Backend: remote.BackendName}, State: "ready",
		Replicas: []remote.ReplicaStatus{
			{URL: "http://gpu1:8080", StateName: "ready", InFlight: 3, Reason: "probe passed", Since: time.Now()},
			{URL: "http://gpu2:8080", StateName: "ejected", EjectedUntil: until, Ejections: 2, Reason: "2 failed probes",
				LastProbe: time.Now(), LastProbeError: "connection refused", Since: time.Now()},
		},
	}}}
	var b strings.Builder
	writeStatus(&b, st)
	out := b.String()
	for _, want := range []string{"replicas of chat", "http://gpu1:8080  ready", "http://gpu2:8080  ejected", "2026-12-02 04:00:00Z", "connection refused", "2 failed probes"} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in:\n%s", want, out)
		}
	}
}
