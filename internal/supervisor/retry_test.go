package supervisor

import (
	"testing"
	"time"

	"custos/internal/config"
)

// The retry budget waits out the supervisor: a refusing process is tried
// until its probes can have condemned it, a restarted one is tried again,
// and a process that fails requests while passing probes is given up on.
func TestRetryBudgetFollowsBackendProcesses(t *testing.T) {
	m := &config.Model{RestartMax: 1, UnhealthyAfter: 3}
	cases := []struct {
		name  string
		pids  []int // the process of each failed try
		after []Verdict
	}{
		{"one process, tried until its probes condemn it", []int{7, 7, 7, 7}, []Verdict{TryAgain, TryAgain, TryAgain, TryOnNewProcess}},
		{"a restart renews the tries", []int{7, 7, 7, 8, 8}, []Verdict{TryAgain, TryAgain, TryAgain, TryAgain, TryAgain}},
		{"restart_max+2 processes at most", []int{7, 8, 9}, []Verdict{TryAgain, TryAgain, GiveUp}},
		{"no process id counts as one process", []int{0, 0, 0, 0}, []Verdict{TryAgain, TryAgain, TryAgain, TryOnNewProcess}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := NewRetryBudget(m)
			for i, pid := range tc.pids {
				if got := b.Failed(pid); got != tc.after[i] {
					t.Fatalf("failure %d (pid %d): %v, want %v", i+1, pid, got, tc.after[i])
				}
			}
		})
	}
}

// The wait for a replacement is what the probes need to condemn a
// process: unhealthy_after intervals, and the probe already running.
func TestReplacementWaitIsWhatTheProbesNeed(t *testing.T) {
	b := NewRetryBudget(&config.Model{UnhealthyAfter: 3, HealthInterval: 2 * time.Second, HealthTimeout: time.Second})
	if got := b.ReplacementWait(); got != 7*time.Second {
		t.Fatalf("ReplacementWait = %v, want 7s", got)
	}
}
