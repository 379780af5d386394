// Package chaos runs `custos serve` as a real process over the real
// embedded engine, with 32 concurrent clients, and breaks things on
// purpose: it kills and freezes backends, crash-loops them, kills custos
// itself, stops it while busy and floods its queue. Each scenario runs for
// CUSTOS_CHAOS_DURATION (default 5s), reports sent / ok / retried / failed,
// and appends a Markdown row to CUSTOS_CHAOS_REPORT when that is set.
package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
)

var (
	custosBin  string
	standinBin string
	binDir     string // what TestMain builds and the generated model; removed at exit
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "custos-chaos-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	custosBin = filepath.Join(dir, "custos")
	standinBin = filepath.Join(dir, "standin")
	for bin, pkg := range map[string]string{custosBin: "custos/cmd/custos", standinBin: "custos/cmd/standin"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

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
	path := filepath.Join(binDir, "chaos-64x2.gguf")
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
func standinCmd(flags ...string) string {
	parts := []string{fmt.Sprintf("%q", standinBin), `"--host"`, `"${HOST}"`, `"--port"`, `"${PORT}"`}
	for _, f := range flags {
		parts = append(parts, fmt.Sprintf("%q", f))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects a process's output safely while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// custos is a running `custos serve` process.
type custos struct {
	t      *testing.T
	addr   string
	cmd    *exec.Cmd
	output *syncBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed
}

// writeConfig writes a configuration with `listen`, logging and a store in
// dir filled in, and returns its path.
func writeConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	head := "listen: " + freeAddr(t) + "\nlog: {level: info, format: json}\nstore: {path: " + filepath.Join(dir, "custos.db") + "}\n"
	path := filepath.Join(dir, "custos.yaml")
	if err := os.WriteFile(path, []byte(head+yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startCustos runs custos on a configuration file and waits until it
// answers /livez.
func startCustos(t *testing.T, cfgPath string) *custos {
	t.Helper()
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "listen:"))
	c := &custos{t: t, addr: addr, output: &syncBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(custosBin, "serve", "--config", cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = c.output, c.output
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.stop)
	c.eventually("custos answers /livez", 20*time.Second, func() bool {
		select {
		case <-c.exited:
			t.Fatalf("custos exited at start: %v\n%s", c.err, c.output.String())
		default:
		}
		resp, err := http.Get(c.url("/livez"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return c
}

func (c *custos) url(path string) string { return "http://" + c.addr + path }

// stop sends SIGTERM and waits; on test failure it prints custos's log.
func (c *custos) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	if c.t.Failed() {
		c.t.Logf("custos output (last 16 KiB):\n%s", tail(c.output.String(), 16<<10))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// eventually polls cond until it holds or the deadline passes.
func (c *custos) eventually(what string, within time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	resp, err := http.Get(c.url("/status"))
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
	c.t.Helper()
	var last modelStatus
	c.eventually(fmt.Sprintf("model %s in state %s", id, state), within, func() bool {
		m, ok := c.model(id)
		last = m
		return ok && m.State == state
	})
	return last
}

// draining reports whether custos has begun its shutdown: /readyz says so,
// or the listener is already closed.
func (c *custos) draining() bool {
	resp, err := http.Get(c.url("/readyz?verbose"))
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "shutting down")
}

// retries reads custos_retries_total, summed over models, from /metrics.
func (c *custos) retries() int {
	c.t.Helper()
	resp, err := http.Get(c.url("/metrics"))
	if err != nil {
		c.t.Fatalf("/metrics: %v", err)
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

// reply is a completed HTTP exchange.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (r reply) errorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// timedOut says whether the client gave up waiting: the hang every
// scenario must never see.
func (r reply) timedOut() bool {
	return r.err != nil && (strings.Contains(r.err.Error(), "Client.Timeout") || strings.Contains(r.err.Error(), "deadline exceeded"))
}

func (r reply) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.status, tail(string(r.body), 300))
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
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := cl.http.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

func (cl *client) close() { cl.http.CloseIdleConnections() }

// steadyReadiness is the configuration line that ends the readiness gate's
// start-up window after one second. Within that window a model restarting
// after a crash counts as Warming and closes the gate (see
// TestKill9BackendWithinReadinessDeadline); the restart scenarios measure
// the steady state after it.
const steadyReadiness = "readiness: {deadline: 1s}\n"

// waitPastReadinessDeadline waits until the gate's start-up deadline, read
// from /status, has passed.
func (c *custos) waitPastReadinessDeadline() {
	c.t.Helper()
	resp, err := http.Get(c.url("/status"))
	if err != nil {
		c.t.Fatalf("/status: %v", err)
	}
	defer resp.Body.Close()
	var st struct {
		Gate struct {
			Deadline time.Time `json:"deadline"`
		} `json:"gate"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Gate.Deadline.IsZero() {
		c.t.Fatalf("/status has no gate deadline: %v", err)
	}
	time.Sleep(time.Until(st.Gate.Deadline) + 50*time.Millisecond)
}
