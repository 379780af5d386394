package kubernetes

import (
	"testing"
	"time"

	"custos/internal/app"
)

// TestGracePeriodCoversTheDrain: the kubelet's SIGKILL comes
// terminationGracePeriodSeconds after the pod starts terminating,
// preStop included; custos needs its whole exit budget after SIGTERM
// (drain within shutdown_timeout, then stopping its backends).
func TestGracePeriodCoversTheDrain(t *testing.T) {
	for _, tr := range tiers(t, loadManifests(t)) {
		cfg := tr.load(t)
		grace := tr.template.Spec.TerminationGracePeriodSeconds
		if grace == nil {
			t.Errorf("%s: terminationGracePeriodSeconds unset (30s default)", tr.name)
			continue
		}
		var preStop time.Duration
		if l := tr.container.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
			preStop = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
		}
		need := preStop + app.ExitBudget(cfg)
		if got := time.Duration(*grace) * time.Second; got < need {
			t.Errorf("%s: grace period %v < preStop %v + exit budget %v (shutdown_timeout %v)", tr.name, got, preStop, app.ExitBudget(cfg), cfg.ShutdownTimeout)
		}
	}
}
