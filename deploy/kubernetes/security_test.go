package kubernetes

import "testing"

// TestPodsAreNonRootReadOnlyAndBounded: every pod runs as a non-root user
// on a read-only root file system, without privilege escalation, with
// requests and a memory limit, and with no service account token (custos
// never talks to the API server).
func TestPodsAreNonRootReadOnlyAndBounded(t *testing.T) {
	for _, tr := range tiers(t, loadManifests(t)) {
		pod, c := tr.template.Spec, tr.container
		if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Errorf("%s: the pod does not run as a non-root user", tr.name)
		}
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: want a read-only root file system and no privilege escalation", tr.name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: want cpu and memory requests and a memory limit", tr.name)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s: the service account token is mounted", tr.name)
		}
	}
}

// TestDisruptionBudgetKeepsTheFrontServing: the front Deployment has a
// PodDisruptionBudget that leaves at least one replica and allows one
// eviction, so a node drain neither empties the Service nor blocks.
func TestDisruptionBudgetKeepsTheFrontServing(t *testing.T) {
	m := loadManifests(t)
	for _, d := range m.deployments {
		var found bool
		for _, pdb := range m.disruptions {
			if pdb.Spec.Selector == nil || pdb.Spec.MinAvailable == nil {
				continue
			}
			sel := pdb.Spec.Selector.MatchLabels
			if len(sel) == 0 || !subset(sel, d.Spec.Template.Labels) {
				continue
			}
			found = true
			if n := pdb.Spec.MinAvailable.IntValue(); n < 1 || int32(n) >= replicas(d.Spec.Replicas) {
				t.Errorf("PodDisruptionBudget %s: minAvailable %d of %d replicas", pdb.Name, n, replicas(d.Spec.Replicas))
			}
		}
		if !found {
			t.Errorf("Deployment %s has no PodDisruptionBudget with minAvailable", d.Name)
		}
		if replicas(d.Spec.Replicas) < 2 {
			t.Errorf("Deployment %s: %d replica; the front needs several", d.Name, replicas(d.Spec.Replicas))
		}
	}
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
