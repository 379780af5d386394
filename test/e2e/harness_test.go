// Package e2e runs `custos serve` as a real process against real backend
// processes on loopback, and kills them with real signals. Each failure
// mode custos handles has a test named after it.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"custos/internal/proctest"
)

// bins are custos and the stand-in, built once for this test binary; its
// folder also holds what tests generate once.
var bins *proctest.Binaries

func TestMain(m *testing.M) { proctest.Main(m, "custos-e2e-bin", &bins) }

// custos is a running `custos serve` process with this suite's helpers.
type custos struct{ *proctest.Custos }

// reply is a completed HTTP exchange.
type reply = proctest.Reply

// standinCmd is the YAML flow list that runs the stand-in with extra flags.
func standinCmd(flags ...string) string { return bins.StandinCmd(flags...) }

// startCustos writes the configuration (with `listen`, logging and a
// store in the test's folder filled in) and runs custos on it, waiting
// until it answers /livez.
func startCustos(t *testing.T, yaml string) *custos {
	t.Helper()
	return startCustosConfig(t, writeConfig(t, t.TempDir(), yaml))
}

// writeConfig writes a configuration into dir and returns its path.
func writeConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	return proctest.WriteConfig(t, dir, "debug", yaml)
}

// startCustosConfig runs custos on an existing configuration file.
func startCustosConfig(t *testing.T, cfgPath string) *custos {
	t.Helper()
	return &custos{proctest.Start(t, bins.Custos, cfgPath)}
}

// modelState reads one model's state from /status.
func (c *custos) modelState(model string) map[string]any {
	c.T.Helper()
	resp, err := http.Get(c.URL("/status"))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st struct {
		Models []map[string]any `json:"models"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil
	}
	for _, m := range st.Models {
		if m["model"] == model {
			return m
		}
	}
	return nil
}

func (c *custos) waitState(model, state string, within time.Duration) map[string]any {
	c.T.Helper()
	var last map[string]any
	c.Eventually(fmt.Sprintf("model %s in state %s", model, state), within, func() bool {
		last = c.modelState(model)
		return last != nil && last["state"] == state
	})
	return last
}

func (c *custos) chat(ctx context.Context, model string, stream bool) reply {
	body := fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"hello there"}]}`, model, stream)
	return c.post(ctx, "/v1/chat/completions", body)
}

func (c *custos) post(ctx context.Context, path, body string) reply {
	return proctest.Post(ctx, http.DefaultClient, c.URL(path), body)
}

// fastModel is a model block with short timings so failures show
// quickly; keys given in extra replace the defaults.
func fastModel(id string, cmd string, extra string) string {
	defaults := []string{
		"health_interval: 100ms", "health_timeout: 80ms", "unhealthy_after: 3", "restart_backoff: 50ms",
		"restart_max: 3", "ready_timeout: 10s", "stop_timeout: 2s",
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:\n    backend: llama-server\n    cmd: %s\n", id, cmd)
	for _, d := range defaults {
		key := d[:strings.Index(d, ":")+1]
		if !strings.Contains(extra, "    "+key) {
			b.WriteString("    " + d + "\n")
		}
	}
	b.WriteString(extra)
	return b.String()
}
