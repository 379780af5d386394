// Package fleet proves custos past one machine on one machine: three
// gateway replicas sharing their control state in a real PostgreSQL, in
// front of two backend hosts each running `custos serve` over the real
// embedded engine, every one of them a network namespace with its own
// address (internal/netns). Each failure mode has a test named after it
// that reports the requests sent, answered and failed, and checks that
// no control change a replica acknowledged is missing from the fleet's
// audit log.
package fleet

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
	"custos/internal/netns"
	"custos/internal/pgtest"
	"custos/internal/proctest"
)

var bins *proctest.Binaries

func TestMain(m *testing.M) { proctest.Main(m, "custos-fleet-bin", &bins) }

const (
	adminTokenEnv = "CUSTOS_ADMIN_TOKEN"
	adminToken    = "fleet-test-admin-token"
	dsnEnv        = "CUSTOS_PG_DSN"
	// model is the id the gateways and the hosts serve.
	model = "chat"
)

// probeClient is for probes and admin calls: a process that stops
// answering is a failed request, not a hung test.
var probeClient = &http.Client{Timeout: 5 * time.Second}

// fleet is the whole deployment of a test.
type fleet struct {
	net      *netns.Network
	pg       *pgtest.Server
	gateways []*node
	hosts    []*node
}

var gatewayNames = []string{"gw1", "gw2", "gw3"}
var hostNames = []string{"host1", "host2"}

// startFleet starts PostgreSQL, the two hosts and the three gateways, and
// waits until every one is ready.
func startFleet(t *testing.T) *fleet {
	t.Helper()
	began := time.Now()
	f := &fleet{net: netns.New(t, append(append([]string{}, gatewayNames...), hostNames...)...)}
	if !f.net.Isolated() {
		t.Fatal("the fleet needs network namespaces (run as root with iproute2)")
	}
	// PostgreSQL listens on the bridge's address in the root namespace,
	// where every host reaches it.
	f.pg = pgtest.StartWith(t, pgtest.Options{Host: f.net.Gateway})
	dsn := f.pg.CreateDatabase("fleet")

	libDir := llamatest.LibDir(t)
	modelPath := tinyModel(t)
	var urls []string
	for _, name := range hostNames {
		h := f.net.Host(t, name)
		dir := t.TempDir()
		cfg := fmt.Sprintf(`log: {level: info, format: json}
admin: {token_env: %s}
store: {path: %s}
models:
  %s:
    backend: runner
    model: %s
    args: ["-c", "1024", "-np", "4", "-t", "1"]
    aliases: [default]
    max_concurrency: 4
`, adminTokenEnv, filepath.Join(dir, "custos.db"), model, modelPath)
		f.hosts = append(f.hosts, startNode(t, name, h, cfg, "CUSTOS_LLAMA_LIB_DIR="+libDir))
		urls = append(urls, "http://"+h.Addr+":8080")
	}
	for _, name := range gatewayNames {
		cfg := fmt.Sprintf(`log: {level: info, format: json}
admin: {token_env: %s}
store: {driver: postgres, dsn_env: %s, replica: %s}
intervention: {wait_timeout: 30s}
models:
%s`, adminTokenEnv, dsnEnv, name, remoteModel(urls))
		f.gateways = append(f.gateways, startNode(t, name, f.net.Host(t, name), cfg, dsnEnv+"="+dsn))
	}
	for _, n := range append(append([]*node{}, f.hosts...), f.gateways...) {
		n.waitReady(60 * time.Second)
	}
	t.Logf("fleet ready in %v: gateways %s, hosts %s, PostgreSQL on %s:%d",
		time.Since(began).Round(time.Millisecond), addrs(f.gateways), addrs(f.hosts), f.net.Gateway, f.pg.Port())
	return f
}

// remoteModel is the gateways' model: the two hosts as its replicas.
func remoteModel(urls []string) string {
	return fmt.Sprintf(`  %s:
    backend: remote
    urls: ["%s"]
    health_interval: 250ms
    health_timeout: 200ms
    unhealthy_after: 2
    eject_cooldown: 1s
    aliases: [default]
`, model, strings.Join(urls, `", "`))
}

func addrs(nodes []*node) string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.addr)
	}
	return strings.Join(s, " ")
}

// tinyModel generates the small random model the hosts serve, once per
// test binary.
func tinyModel(t *testing.T) string {
	t.Helper()
	path := filepath.Join(bins.Dir, "tiny.gguf")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := gguf.GenerateFile(path, gguf.GenOptions{Dim: 64, Layers: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFleet starts one fleet and puts it through each failure in turn;
// every scenario leaves the fleet whole again for the next, and says so
// before it starts.
func TestFleet(t *testing.T) {
	f := startFleet(t)
	l := &ledger{}
	scenarios := []struct {
		name string
		run  func(t *testing.T, f *fleet, l *ledger)
	}{
		{"PauseOnOneReplicaHoldsRequestsOnAll", pauseOnOneReplicaHoldsRequestsOnAll},
		{"GatewayReplicaKilled", gatewayReplicaKilled},
		{"HostCutOff", hostCutOff},
		{"HostHung", hostHung},
		{"PostgresRestartedUnderLoad", postgresRestartedUnderLoad},
	}
	for _, s := range scenarios {
		if !t.Run(s.name, func(t *testing.T) {
			f.whole(t)
			s.run(t, f, l)
		}) {
			return
		}
	}
}

// whole checks that every node is up and ready, and that each gateway
// sees both hosts ready.
func (f *fleet) whole(t *testing.T) {
	t.Helper()
	for _, n := range append(append([]*node{}, f.hosts...), f.gateways...) {
		n.t = t
		n.waitReady(20 * time.Second)
	}
	for _, g := range f.gateways {
		for _, h := range f.hosts {
			waitReplica(t, g, h, "ready", 20*time.Second)
		}
	}
}

// replicaState is what gateway g's /status says of host h as a replica.
func replicaState(g, h *node) string {
	status, body := get(g, "/status")
	if status != http.StatusOK {
		return fmt.Sprintf("(/status %d)", status)
	}
	var st struct {
		Models []struct {
			Replicas []struct {
				URL   string `json:"url"`
				State string `json:"state"`
			} `json:"replicas"`
		} `json:"models"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return "(" + err.Error() + ")"
	}
	for _, m := range st.Models {
		for _, r := range m.Replicas {
			if strings.TrimSuffix(r.URL, "/") == "http://"+h.addr {
				return r.State
			}
		}
	}
	return "(not listed)"
}

// waitReplica waits until gateway g says host h is in state.
func waitReplica(t *testing.T, g, h *node, state string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	deadline := start.Add(within)
	for {
		if last = replicaState(g, h); last == state {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: replica %s is %s after %v; want %s", g.name, h.name, last, within, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// served is how many inference requests host h has answered with 200,
// from its own custos_requests_total.
func served(t *testing.T, h *node) int {
	t.Helper()
	return counter(t, h, "custos_requests_total{", `code="200"`)
}

// retries is how many requests the gateways sent again on another replica
// after one failed before its first byte (custos_retries_total).
func (f *fleet) retries(t *testing.T) int {
	t.Helper()
	total := 0
	for _, g := range f.gateways {
		total += counter(t, g, "custos_retries_total", "")
	}
	return total
}

// counter sums the samples of n's /metrics whose line starts with prefix
// and contains label.
func counter(t *testing.T, n *node, prefix, label string) int {
	t.Helper()
	status, body := get(n, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("%s /metrics: %d", n.name, status)
	}
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, label) {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
				total += int(v)
			}
		}
	}
	return total
}

// servesAgain waits until host h answers requests of the load again.
func servesAgain(t *testing.T, h *node, within time.Duration) {
	t.Helper()
	base := served(t, h)
	eventually(t, h.name+" answers requests again", within, func() bool { return served(t, h) > base })
}
