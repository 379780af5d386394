package kubernetes

import (
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"custos/internal/config"
	"custos/internal/gguf"
)

// tier is one workload with the configuration its custos reads.
type tier struct {
	workload
	container  *corev1.Container
	configPath string         // the --config argument
	configText string         // the ConfigMap's file
	tree       map[string]any // configText decoded, for the keys themselves
}

// tiers pairs every workload with the ConfigMap file its command names.
func tiers(t *testing.T, m *manifests) []tier {
	t.Helper()
	var out []tier
	for _, w := range m.workloads() {
		c := &w.template.Spec.Containers[0]
		args := append(append([]string{}, c.Command...), c.Args...)
		i := indexOf(args, "--config")
		if len(args) < 3 || args[1] != "serve" || i < 0 || i+1 >= len(args) {
			t.Fatalf("%s %s: want `custos serve --config FILE`, got %q", w.kind, w.name, args)
		}
		tr := tier{workload: w, container: c, configPath: args[i+1]}
		mount, ok := mountOf(c, tr.configPath)
		if !ok {
			t.Fatalf("%s %s: --config %s is on no volume mount", w.kind, w.name, tr.configPath)
		}
		vol := volume(w.template, mount.Name)
		if vol == nil || vol.ConfigMap == nil {
			t.Fatalf("%s %s: %s is not mounted from a ConfigMap", w.kind, w.name, tr.configPath)
		}
		cm := m.configMap(vol.ConfigMap.Name)
		key := strings.TrimPrefix(tr.configPath, strings.TrimSuffix(mount.MountPath, "/")+"/")
		if cm == nil || cm.Data[key] == "" {
			t.Fatalf("%s %s: ConfigMap %s has no key %q", w.kind, w.name, vol.ConfigMap.Name, key)
		}
		tr.configText = cm.Data[key]
		if err := yaml.Unmarshal([]byte(tr.configText), &tr.tree); err != nil {
			t.Fatalf("%s %s: the configuration is not YAML: %v", w.kind, w.name, err)
		}
		out = append(out, tr)
	}
	return out
}

func indexOf(s []string, v string) int {
	for i := range s {
		if s[i] == v {
			return i
		}
	}
	return -1
}

// mountOf is the volume mount holding file.
func mountOf(c *corev1.Container, file string) (corev1.VolumeMount, bool) {
	for _, vm := range c.VolumeMounts {
		if strings.HasPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/") {
			return vm, true
		}
	}
	return corev1.VolumeMount{}, false
}

func volume(p *corev1.PodTemplateSpec, name string) *corev1.Volume {
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].Name == name {
			return &p.Spec.Volumes[i]
		}
	}
	return nil
}

// envKeys are the environment variables a configuration names: the
// values of its *_env keys, at any depth.
func envKeys(tree any, at string, found map[string]string) {
	switch v := tree.(type) {
	case map[string]any:
		for k, sub := range v {
			p := strings.TrimPrefix(at+"."+k, ".")
			if s, ok := sub.(string); ok && strings.HasSuffix(k, "_env") {
				found[s] = p
			}
			envKeys(sub, p, found)
		}
	case []any:
		for i, sub := range v {
			envKeys(sub, at+"["+strconv.Itoa(i)+"]", found)
		}
	}
}

// listenPort is the port of the configuration's listen address.
func (tr tier) listenPort(t *testing.T) int32 {
	t.Helper()
	listen, _ := tr.tree["listen"].(string)
	_, port, err := net.SplitHostPort(listen)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		t.Fatalf("%s: listen %q has no port", tr.name, listen)
	}
	return int32(n)
}

// containerPort resolves a port given by name or number to the container's.
func containerPort(c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// load validates the tier's configuration as `custos check` does, in a
// folder of its own, with each variable the pod sets given a stand-in
// value. Model files live on the hosts' volumes, so a small generated
// GGUF stands at each model path, moved from the volume's mount to the
// same place under the folder; a model path on no volume of the pod fails.
func (tr tier) load(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	text := tr.configText
	for _, model := range modelPaths(tr.tree) {
		if !filepath.IsAbs(model) {
			t.Fatalf("%s: model %s: give an absolute path on a volume", tr.name, model)
		}
		if _, ok := mountOf(tr.container, model); !ok {
			t.Fatalf("%s: model %s is on no volume of the pod", tr.name, model)
		}
		local := filepath.Join(dir, "volumes", model)
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := gguf.GenerateFile(local, gguf.GenOptions{Dim: 64, Layers: 1, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, "model: "+model, "model: "+local)
	}
	for _, e := range tr.container.Env {
		t.Setenv(e.Name, "stand-in-"+strings.ToLower(e.Name))
	}
	file := filepath.Join(dir, path.Base(tr.configPath))
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("%s: the ConfigMap's configuration fails `custos check`: %v", tr.name, err)
	}
	return cfg
}

// modelPaths are the `model:` files of the configuration's models.
func modelPaths(tree map[string]any) []string {
	models, _ := tree["models"].(map[string]any)
	var paths []string
	for _, m := range models {
		if mm, ok := m.(map[string]any); ok {
			if p, ok := mm["model"].(string); ok {
				paths = append(paths, p)
			}
		}
	}
	return paths
}
