// Package e2e runs `custos serve` as a real process against real backend
// processes on loopback, and kills them with real signals. Each failure
// mode custos handles has a test named after it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
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
)

var (
	custosBin  string
	standinBin string
)

// binDir holds what TestMain builds and what tests generate once; it is
// removed at exit.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "custos-e2e-bin")
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

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
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

// standinCmd is the YAML flow list that runs the stand-in with extra flags.
func standinCmd(flags ...string) string {
	parts := []string{fmt.Sprintf("%q", standinBin), `"--host"`, `"${HOST}"`, `"--port"`, `"${PORT}"`}
	for _, f := range flags {
		parts = append(parts, fmt.Sprintf("%q", f))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

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
	head := "listen: " + freeAddr(t) + "\nlog: {level: debug, format: json}\n"
	if !strings.Contains(yaml, "store:") {
		head += "store: {path: " + filepath.Join(dir, "custos.db") + "}\n"
	}
	path := filepath.Join(dir, "custos.yaml")
	if err := os.WriteFile(path, []byte(head+yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startCustosConfig runs custos on an existing configuration file.
func startCustosConfig(t *testing.T, cfgPath string) *custos {
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
	if _, ok := c.wait(30 * time.Second); !ok {
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	if c.t.Failed() {
		c.t.Logf("custos output:\n%s", c.output.String())
	}
}

// wait waits for the process to exit and returns its exit status; ok is
// false if it is still running after d.
func (c *custos) wait(d time.Duration) (err error, ok bool) {
	select {
	case <-c.exited:
		return c.err, true
	case <-time.After(d):
		return nil, false
	}
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

// modelState reads one model's state from /status.
func (c *custos) modelState(model string) map[string]any {
	c.t.Helper()
	resp, err := http.Get(c.url("/status"))
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
	c.t.Helper()
	var last map[string]any
	c.eventually(fmt.Sprintf("model %s in state %s", model, state), within, func() bool {
		last = c.modelState(model)
		return last != nil && last["state"] == state
	})
	return last
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

func (c *custos) chat(ctx context.Context, model string, stream bool) reply {
	body := fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"hello there"}]}`, model, stream)
	return c.post(ctx, "/v1/chat/completions", body)
}

func (c *custos) post(ctx context.Context, path, body string) reply {
	req, err := http.NewRequestWithContext(ctx, "POST", c.url(path), strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b, err: err}
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
