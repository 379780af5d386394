// Package chaos runs `custos serve` as a real process over the real
// embedded engine, with 32 concurrent clients, and breaks things on
// purpose: it kills and freezes backends, crash-loops them, kills custos
// itself, stops it while busy and floods its queue. Each scenario runs for
// CUSTOS_CHAOS_DURATION (default 5s), reports sent / ok / retried / failed,
// and appends a Markdown row to CUSTOS_CHAOS_REPORT when that is set.
package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
	"custos/internal/proctest"
)

// bins are custos and the stand-in, built once for this test binary; its
// folder also holds the generated model.
var bins *proctest.Binaries

func TestMain(m *testing.M) { proctest.Main(m, "custos-chaos-bin", &bins) }

// chaosDuration is how long each scenario keeps its clients busy.
func chaosDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("CUSTOS_CHAOS_DURATION")
	if v == "" {
		return 5 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("CUSTOS_CHAOS_DURATION=%q is not a positive duration", v)
	}
	return d
}

// chaosModel is generated once per test binary: small, so loads and
// restarts take little time and the gateway's behaviour dominates.
var chaosModel = sync.OnceValues(func() (string, error) {
	path := filepath.Join(bins.Dir, "chaos-64x2.gguf")
	return path, gguf.GenerateFile(path, gguf.GenOptions{Dim: 64, Layers: 2, Seed: 1})
})

// runnerModel is the model block of a runner backend on chaosModel; keys
// in extra are appended and must not repeat those here.
func runnerModel(t *testing.T, extra string) string {
	t.Helper()
	t.Setenv("CUSTOS_LLAMA_LIB_DIR", llamatest.LibDir(t))
	model, err := chaosModel()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("models:\n  tiny:\n    backend: runner\n    model: %s\n    max_concurrency: 4\n    ready_timeout: 60s\n    stop_timeout: 5s\n%s", model, extra)
}

// standinCmd is the YAML flow list that runs the stand-in with extra flags.
func standinCmd(flags ...string) string { return bins.StandinCmd(flags...) }

// custos is a running `custos serve` process with this suite's helpers.
type custos struct{ *proctest.Custos }

// reply is a completed HTTP exchange.
type reply = proctest.Reply

// writeConfig writes a configuration with `listen`, logging and a store in
// dir filled in, and returns its path.
func writeConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	return proctest.WriteConfig(t, dir, "info", yaml)
}

// startCustos runs custos on a configuration file and waits until it
// answers /livez.
func startCustos(t *testing.T, cfgPath string) *custos {
	t.Helper()
	return &custos{proctest.Start(t, bins.Custos, cfgPath)}
}

// modelStatus is the part of one model's /status entry the scenarios read.
type modelStatus struct {
	Model    string `json:"model"`
	State    string `json:"state"`
	PID      int    `json:"pid"`
	Restarts int    `json:"restarts"`
	LastExit string `json:"last_exit"`
	InFlight int    `json:"in_flight"`
	Queued   int    `json:"queued"`
}

// model reads one model's entry from /status; ok is false when custos did
// not answer.
func (c *custos) model(id string) (m modelStatus, ok bool) {
	resp, err := proctest.Client.Get(c.URL("/status"))
	if err != nil {
		return m, false
	}
	defer resp.Body.Close()
	var st struct {
		Models []modelStatus `json:"models"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return m, false
	}
	for _, m := range st.Models {
		if m.Model == id {
			return m, true
		}
	}
	return m, false
}

func (c *custos) waitState(id, state string, within time.Duration) modelStatus {
	c.T.Helper()
	var last modelStatus
	c.Eventually(fmt.Sprintf("model %s in state %s", id, state), within, func() bool {
		m, ok := c.model(id)
		last = m
		return ok && m.State == state
	})
	return last
}

// draining reports whether custos has begun its shutdown: /readyz says so,
// or the listener is already closed.
func (c *custos) draining() bool {
	resp, err := proctest.Client.Get(c.URL("/readyz?verbose"))
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "shutting down")
}

// retries reads custos_retries_total, summed over models, from /metrics.
func (c *custos) retries() int {
	c.T.Helper()
	resp, err := proctest.Client.Get(c.URL("/metrics"))
	if err != nil {
		c.T.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	total := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "custos_retries_total") {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
				total += v
			}
		}
	}
	return int(total)
}

// timedOut says whether the client gave up waiting: the hang every
// scenario must never see.
func timedOut(r reply) bool {
	return r.Err != nil && (strings.Contains(r.Err.Error(), "Client.Timeout") || strings.Contains(r.Err.Error(), "deadline exceeded"))
}

// chatBody is a small chat request.
func chatBody(model string, maxTokens int, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":%d,"stream":%v,"messages":[{"role":"user","content":"hello there"}]}`, model, maxTokens, stream)
}

// client sends requests with a client-side timeout, on its own pool of
// connections so one scenario's clients do not share state with another's.
type client struct {
	http *http.Client
}

func newClient(timeout time.Duration) *client {
	return newClientKeepAlive(timeout, true)
}

// newClientKeepAlive with keepAlive false opens a connection per request,
// so a closed listener shows as a refused connection rather than as a
// broken reused one.
func newClientKeepAlive(timeout time.Duration, keepAlive bool) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true, DisableKeepAlives: !keepAlive}
	return &client{http: &http.Client{Timeout: timeout, Transport: tr}}
}

func (cl *client) post(ctx context.Context, url, body string) reply {
	return proctest.Post(ctx, cl.http, url, body)
}

func (cl *client) close() { cl.http.CloseIdleConnections() }

// clientsDone waits for runClients, run until the deadline on cl, to return
// (done closed): its clients' last requests may start just before the
// deadline and take up to cl's timeout.
func (c *custos) clientsDone(cl *client, until time.Time, done <-chan struct{}) {
	c.T.Helper()
	proctest.Receive(c.T, "the clients' last requests", time.Until(until)+cl.http.Timeout+30*time.Second, done)
}

// steadyReadiness is the configuration line that ends the readiness gate's
// start-up window after one second. Within that window a model restarting
// after a crash counts as Warming and closes the gate (see
// TestKill9BackendWithinReadinessDeadline); the restart scenarios measure
// the steady state after it.
const steadyReadiness = "readiness: {deadline: 1s}\n"

// waitPastReadinessDeadline waits until the gate's start-up deadline, read
// from /status, has passed.
func (c *custos) waitPastReadinessDeadline() {
	c.T.Helper()
	resp, err := proctest.Client.Get(c.URL("/status"))
	if err != nil {
		c.T.Fatalf("/status: %v", err)
	}
	defer resp.Body.Close()
	var st struct {
		Gate struct {
			Deadline time.Time `json:"deadline"`
		} `json:"gate"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Gate.Deadline.IsZero() {
		c.T.Fatalf("/status has no gate deadline: %v", err)
	}
	time.Sleep(time.Until(st.Gate.Deadline) + 50*time.Millisecond)
}
