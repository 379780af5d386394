package kubernetes

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// TestContainerPortIsTheListenPort: the port the pod declares is the one
// custos listens on.
func TestContainerPortIsTheListenPort(t *testing.T) {
	for _, tr := range tiers(t, loadManifests(t)) {
		want := tr.listenPort(t)
		if len(tr.container.Ports) != 1 || tr.container.Ports[0].ContainerPort != want {
			t.Errorf("%s: container ports %v; custos listens on %d", tr.name, tr.container.Ports, want)
		}
	}
}

// TestServicesTargetContainerPorts: each Service selects a workload's pods
// and sends to a port their container has.
func TestServicesTargetContainerPorts(t *testing.T) {
	m := loadManifests(t)
	for _, svc := range m.services {
		var matched []tier
		for _, tr := range tiers(t, m) {
			if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(tr.template.Labels)) {
				matched = append(matched, tr)
			}
		}
		if len(matched) != 1 {
			t.Errorf("Service %s selects %d workloads; want 1", svc.Name, len(matched))
			continue
		}
		for _, p := range svc.Spec.Ports {
			if _, ok := containerPort(matched[0].container, p.TargetPort); !ok {
				t.Errorf("Service %s port %s: targetPort %s is no port of %s", svc.Name, p.Name, p.TargetPort.String(), matched[0].name)
			}
		}
	}
}

// TestFrontDiscoversTheHostsHeadlessService: the front's `discover:` URL
// names the StatefulSet's headless Service, in its namespace, on the port
// that Service serves.
func TestFrontDiscoversTheHostsHeadlessService(t *testing.T) {
	m := loadManifests(t)
	if len(m.statefulSets) != 1 {
		t.Fatalf("want one StatefulSet, got %d", len(m.statefulSets))
	}
	sts := m.statefulSets[0]
	var headless string
	var ports []string
	for _, svc := range m.services {
		if svc.Name == sts.Spec.ServiceName {
			if svc.Spec.ClusterIP != "None" {
				t.Errorf("Service %s (the StatefulSet's serviceName) is not headless", svc.Name)
			}
			headless = svc.Name + "." + svc.Namespace + ".svc.cluster.local"
			for _, p := range svc.Spec.Ports {
				ports = append(ports, strconv.Itoa(int(p.Port)))
			}
		}
	}
	if headless == "" {
		t.Fatalf("no Service named %s (the StatefulSet's serviceName)", sts.Spec.ServiceName)
	}
	found := 0
	for _, tr := range tiers(t, m) {
		models, _ := tr.tree["models"].(map[string]any)
		for id, v := range maps.All(models) {
			model, _ := v.(map[string]any)
			d, ok := model["discover"].(string)
			if !ok {
				continue
			}
			found++
			u, err := url.Parse(d)
			if err != nil || u.Hostname() != headless || !slices.Contains(ports, u.Port()) {
				t.Errorf("%s: models.%s.discover %q; want http://%s:<one of %v>", tr.name, id, d, headless, ports)
			}
		}
	}
	if found == 0 {
		t.Error("no model discovers the hosts")
	}
}
