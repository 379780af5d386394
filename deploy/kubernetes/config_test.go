package kubernetes

import (
	"testing"
)

// TestConfigMapsPassCustosCheck validates each tier's configuration as
// `custos check` does, with the variables its pod sets.
func TestConfigMapsPassCustosCheck(t *testing.T) {
	for _, tr := range tiers(t, loadManifests(t)) {
		t.Run(tr.name, func(t *testing.T) { tr.load(t) })
	}
}

// TestEveryVariableTheConfigNamesComesFromASecret: each *_env key names a
// variable the pod sets, and sets from a Secret, never from a value
// written in the manifest.
func TestEveryVariableTheConfigNamesComesFromASecret(t *testing.T) {
	m := loadManifests(t)
	for _, tr := range tiers(t, m) {
		named := map[string]string{}
		envKeys(tr.tree, "", named)
		if len(named) == 0 {
			t.Errorf("%s: the configuration names no variable (admin.token_env is required off loopback)", tr.name)
		}
		for name, key := range named {
			found := false
			for _, e := range tr.container.Env {
				if e.Name != name {
					continue
				}
				found = true
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("%s: %s (%s) is not set from a Secret", tr.name, name, key)
				}
			}
			if !found {
				t.Errorf("%s: %s names %s, which the pod does not set", tr.name, key, name)
			}
		}
	}
}

// TestStoreIsOnAWritableVolume: with a read-only root file system, the
// SQLite store must be on a volume mounted read-write.
func TestStoreIsOnAWritableVolume(t *testing.T) {
	for _, tr := range tiers(t, loadManifests(t)) {
		store, _ := tr.tree["store"].(map[string]any)
		p, ok := store["path"].(string)
		if !ok {
			continue
		}
		mount, ok := mountOf(tr.container, p)
		if !ok || mount.ReadOnly {
			t.Errorf("%s: store.path %s is not on a writable volume", tr.name, p)
		}
	}
}
