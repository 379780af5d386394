// Package kubernetes holds custos's Kubernetes manifests. Its tests decode
// every manifest strictly into the k8s.io/api types and check that what
// the manifests promise — probe routes, ports, the grace period, the
// environment the configuration reads, the image — is what custos serves
// and reads, so a renamed route, port or key fails here rather than in a
// cluster.
package kubernetes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// manifests are every object of every *.yaml file here, decoded.
type manifests struct {
	namespaces      []*corev1.Namespace
	configMaps      []*corev1.ConfigMap
	services        []*corev1.Service
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	disruptions     []*policyv1.PodDisruptionBudget
	networkPolicies []*networkingv1.NetworkPolicy
}

// workload is a Deployment or a StatefulSet: the part of it the checks use.
type workload struct {
	kind, name string
	replicas   int32
	template   *corev1.PodTemplateSpec
}

func (m *manifests) workloads() []workload {
	var w []workload
	for _, d := range m.deployments {
		w = append(w, workload{"Deployment", d.Name, replicas(d.Spec.Replicas), &d.Spec.Template})
	}
	for _, s := range m.statefulSets {
		w = append(w, workload{"StatefulSet", s.Name, replicas(s.Spec.Replicas), &s.Spec.Template})
	}
	return w
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func (m *manifests) configMap(name string) *corev1.ConfigMap {
	for _, c := range m.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// loadManifests decodes every document of every manifest file, failing on
// a kind it does not know or a field the type does not have.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found (%v)", err)
	}
	m := &manifests{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocuments(data) {
			where := fmt.Sprintf("%s document %d", file, i+1)
			js, err := yaml.YAMLToJSON(doc)
			if err != nil {
				t.Fatalf("%s: not YAML: %v", where, err)
			}
			var meta metav1.TypeMeta
			if err := json.Unmarshal(js, &meta); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			switch meta.APIVersion + " " + meta.Kind {
			case "v1 Namespace":
				m.namespaces = append(m.namespaces, mustDecode(t, where, js, new(corev1.Namespace)))
			case "v1 ConfigMap":
				m.configMaps = append(m.configMaps, mustDecode(t, where, js, new(corev1.ConfigMap)))
			case "v1 Service":
				m.services = append(m.services, mustDecode(t, where, js, new(corev1.Service)))
			case "apps/v1 Deployment":
				m.deployments = append(m.deployments, mustDecode(t, where, js, new(appsv1.Deployment)))
			case "apps/v1 StatefulSet":
				m.statefulSets = append(m.statefulSets, mustDecode(t, where, js, new(appsv1.StatefulSet)))
			case "policy/v1 PodDisruptionBudget":
				m.disruptions = append(m.disruptions, mustDecode(t, where, js, new(policyv1.PodDisruptionBudget)))
			case "networking.k8s.io/v1 NetworkPolicy":
				m.networkPolicies = append(m.networkPolicies, mustDecode(t, where, js, new(networkingv1.NetworkPolicy)))
			default:
				t.Fatalf("%s: kind %q of %q is not one this test knows: add it to loadManifests", where, meta.Kind, meta.APIVersion)
			}
		}
	}
	return m
}

// decodeStrict decodes js into v, refusing fields v's type does not have
// (a misspelt or misplaced key) and trailing data.
func decodeStrict(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the object")
	}
	return nil
}

func mustDecode[T any](t *testing.T, where string, js []byte, v *T) *T {
	t.Helper()
	if err := decodeStrict(js, v); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return v
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitDocuments splits a multi-document YAML file, dropping documents
// that hold only comments.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range documentSeparator.Split(string(data), -1) {
		meaningful := slices.ContainsFunc(strings.Split(doc, "\n"), func(line string) bool {
			line = strings.TrimSpace(line)
			return line != "" && !strings.HasPrefix(line, "#")
		})
		if meaningful {
			docs = append(docs, []byte(doc))
		}
	}
	return docs
}

func TestEveryManifestDecodesStrictly(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 1 || len(m.statefulSets) != 1 {
		t.Fatalf("want the front Deployment and the host StatefulSet, got %d and %d", len(m.deployments), len(m.statefulSets))
	}
	for _, w := range m.workloads() {
		if len(w.template.Spec.Containers) != 1 {
			t.Errorf("%s %s: want one container, got %d", w.kind, w.name, len(w.template.Spec.Containers))
		}
	}
}

func TestSplitDocumentsFindsEachObject(t *testing.T) {
	docs := splitDocuments([]byte("# a comment only\n---\nkind: A\n---   \n\nkind: B\n--- \n# trailing\n"))
	if len(docs) != 2 || !strings.Contains(string(docs[0]), "kind: A") || !strings.Contains(string(docs[1]), "kind: B") {
		t.Fatalf("got %q", docs)
	}
}

func TestAStrictDecodeRefusesAnUnknownField(t *testing.T) {
	err := decodeStrict([]byte(`{"spec":{"replicas":1,"replica":3}}`), new(appsv1.Deployment))
	if err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("want the unknown field named, got %v", err)
	}
}
