package remote

import (
	"testing"
	"time"

	"custos/internal/supervisor"
)

func TestAggregateOfReplicas(t *testing.T) {
	now := time.Now()
	until := now.Add(time.Minute)
	r := func(s ReplicaState) ReplicaStatus {
		st := ReplicaStatus{URL: "http://a:1", State: s, Reason: "why"}
		if s == ReplicaEjected {
			st.EjectedUntil = until
		}
		return st
	}
	cases := []struct {
		name       string
		reps       []ReplicaStatus
		discovered bool
		want       supervisor.State
	}{
		{"one ready is enough", []ReplicaStatus{r(ReplicaEjected), r(ReplicaReady)}, false, supervisor.StateReady},
		{"every replica ejected is unhealthy", []ReplicaStatus{r(ReplicaEjected), r(ReplicaEjected)}, false, supervisor.StateUnhealthy},
		{"one still loading is loading", []ReplicaStatus{r(ReplicaEjected), r(ReplicaLoading)}, false, supervisor.StateLoading},
		{"retiring ones do not count", []ReplicaStatus{r(ReplicaRetiring), r(ReplicaEjected)}, true, supervisor.StateUnhealthy},
		{"none before discovery is loading", nil, false, supervisor.StateLoading},
		{"none discovered is unhealthy", nil, true, supervisor.StateUnhealthy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := aggregate(supervisor.Snapshot{Model: "m", State: supervisor.StateReady}, tc.reps, tc.discovered, now)
			if s.State != tc.want || s.Backend != BackendName {
				t.Fatalf("state %v backend %q, want %v", s.State, s.Backend, tc.want)
			}
			if s.State == supervisor.StateUnhealthy && len(tc.reps) > 0 && !s.RetryAt.Equal(until) {
				t.Fatalf("retry at %v, want the end of the first cool-down %v", s.RetryAt, until)
			}
			if s.State != supervisor.StateReady && !s.NotReadySince.Equal(now) {
				t.Fatalf("not ready since %v, want %v: the fallback's readiness deadline counts from here", s.NotReadySince, now)
			}
		})
	}
}

// The time a model stopped being ready is kept while it stays not ready,
// so that readiness.deadline sends it to the fallback on time.
func TestAggregateKeepsNotReadySince(t *testing.T) {
	t0 := time.Now()
	s := aggregate(supervisor.Snapshot{}, []ReplicaStatus{{State: ReplicaLoading}}, false, t0)
	s = aggregate(s, []ReplicaStatus{{State: ReplicaEjected}}, false, t0.Add(time.Second))
	if !s.NotReadySince.Equal(t0) || !s.Since.Equal(t0.Add(time.Second)) {
		t.Fatalf("not ready since %v (want %v), since %v", s.NotReadySince, t0, s.Since)
	}
	s = aggregate(s, []ReplicaStatus{{State: ReplicaReady}}, false, t0.Add(2*time.Second))
	if !s.NotReadySince.IsZero() || !s.LastReady.Equal(t0.Add(2*time.Second)) || s.Progress != 1 {
		t.Fatalf("ready: %+v", s)
	}
}
