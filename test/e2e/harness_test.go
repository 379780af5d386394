// Package e2e runs `custos serve` as a real process against real backend
// processes on loopback, and kills them with real signals. Each failure
// mode custos handles has a test named after it.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"custos/internal/proctest"
)

// bins are custos and the stand-in, built once for this test binary; its
// folder also holds what tests generate once.
var bins *proctest.Binaries

func TestMain(m *testing.M) { proctest.Main(m, "custos-e2e-bin", &bins) }

// inferenceClient sends the tests' inference requests: its timeout, long
// enough for any request here that waits on a pause, a queue or a restart,
// makes a custos that never answers a failed request, not a hung test.
var inferenceClient = &http.Client{Timeout: 2 * time.Minute}

// answerWithin bounds the wait for a reply sent in the background.
const answerWithin = 2*time.Minute + 30*time.Second

// cliTimeout bounds a run of the custos CLI.
const cliTimeout = time.Minute

// runCustos runs the custos CLI and returns its combined output; a run
// past cliTimeout is killed and returns an error saying so.
func runCustos(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bins.Custos, args...).CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("custos %s: still running after %v (%v)", strings.Join(args, " "), cliTimeout, err)
	}
	return string(out), err
}

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
	resp, err := proctest.Client.Get(c.URL("/status"))
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
	return proctest.Post(ctx, inferenceClient, c.URL(path), body)
}

// get fetches path, failing the test if custos does not answer, and
// returns the status and body.
func (c *custos) get(path string) (int, []byte) {
	c.T.Helper()
	resp, err := proctest.Client.Get(c.URL(path))
	if err != nil {
		c.T.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.T.Fatalf("GET %s: reading the answer: %v", path, err)
	}
	return resp.StatusCode, body
}

// getStatus is GET path's status, or 0 if custos did not answer.
func (c *custos) getStatus(path string) int {
	resp, err := proctest.Client.Get(c.URL(path))
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
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
