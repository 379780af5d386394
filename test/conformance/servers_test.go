// Package conformance sends the same requests to `custos runner` and to llama.cpp's own llama-server of the
// release the runner's libraries come from, both serving the same generated model with the same flags, and
// compares what they answer: status codes, the JSON shape (the same keys with the same value types, at every
// depth), and, where sampling is seeded, the generated text and its token ids. Each case lists the differences
// it allows, each with its reason (see differences_test.go); anything else that differs fails the case.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"custos/internal/llama/llamatest"
	"custos/internal/proctest"
)

// bins holds custos, built once for this test binary; its folder also holds the generated model.
var bins *proctest.Binaries

func TestMain(m *testing.M) { proctest.Main(m, "custos-conformance-bin", &bins) }

// The servers' shared flags: four slots in a 4,096-token context, one thread (two servers share the
// machine), and a default seed for requests that give none.
var sharedFlags = []string{"-np", "4", "-c", "4096", "-t", "1", "--seed", "42", "--alias", "tiny"}

// startWithin bounds a server's start, model load included, on a loaded machine.
const startWithin = 60 * time.Second

// client sends the cases; its timeout makes a server that stops answering a failed case, not a hung test.
// Each request has a connection of its own: llama-server (cpp-httplib) may close a kept-alive connection
// just as the next request goes out on it, after an idle while or a stream, and a POST that meets the
// close fails with EOF, which Go does not send again.
var client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}

// model generates the suite's model once with `custos model gen`: a small random llama-architecture GGUF
// with the default chat template (ChatML).
var model = sync.OnceValues(func() (string, error) { return generateModel("tiny-256x4.gguf") })

// toolModel is the same model carrying Qwen 2.5's chat template, whose tool calls both servers parse
// (Hermes' <tool_call> format).
var toolModel = sync.OnceValues(func() (string, error) {
	return generateModel("tiny-256x4-qwen.gguf", "--chat-template", "../../internal/chattemplate/testdata/Qwen-Qwen2.5-7B-Instruct.jinja")
})

// generateModel runs `custos model gen` into the binaries' folder with the suite's model size and seed.
func generateModel(name string, extra ...string) (string, error) {
	path := filepath.Join(bins.Dir, name)
	args := append([]string{"model", "gen", "--out", path, "--dim", "256", "--layers", "4", "--seed", "1"}, extra...)
	out, err := exec.Command(bins.Custos, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("custos model gen: %v\n%s", err, out)
	}
	return path, nil
}

// pair is a runner and a llama-server serving the same model with the same flags.
type pair struct {
	runner, llama string // base URLs
}

// startPair starts both servers on the suite's model, with extra flags for both and llamaOnly for
// llama-server alone, and waits until both answer /health with 200. The test's cleanup stops them.
func startPair(t *testing.T, extra, llamaOnly []string) pair {
	t.Helper()
	return startPairOn(t, model, extra, llamaOnly)
}

// startPairOn is startPair on the model that gen makes.
func startPairOn(t *testing.T, gen func() (string, error), extra, llamaOnly []string) pair {
	t.Helper()
	path, err := gen()
	if err != nil {
		t.Fatal(err)
	}
	return startPairAt(t, path, extra, llamaOnly)
}

// startPairAt is startPair on the model at path.
func startPairAt(t *testing.T, path string, extra, llamaOnly []string) pair {
	t.Helper()
	flags := append(append([]string{"-m", path}, sharedFlags...), extra...)
	runner := startServer(t, runnerServer(t, flags))
	llama := startServer(t, llamaServer(t, append(flags, llamaOnly...)))
	return pair{runner: "http://" + runner, llama: "http://" + llama}
}

// runnerServer is `custos runner` with flags, on the libraries the suite runs on.
func runnerServer(t *testing.T, flags []string) server {
	return server{
		name: "runner", bin: bins.Custos, env: []string{"CUSTOS_LLAMA_LIB_DIR=" + llamatest.LibDir(t)},
		args:      func(addr string) []string { return append([]string{"runner"}, withListen(flags, addr)...) },
		listening: func(addr string) string { return `"msg":"runner listening","addr":"` + addr + `"` },
	}
}

// llamaServer is the release's llama-server with flags.
func llamaServer(t *testing.T, flags []string) server {
	return server{
		name: "llama-server", bin: llamatest.LlamaServer(t),
		args:      func(addr string) []string { return withListen(flags, addr) },
		listening: func(addr string) string { return "listening on http://" + addr },
	}
}

// withListen adds --host and --port for addr to flags.
func withListen(flags []string, addr string) []string {
	host, port, _ := strings.Cut(addr, ":")
	return append(append([]string{}, flags...), "--host", host, "--port", port)
}

// server is one of a pair: how to run it on an address, and how it says it has bound it.
type server struct {
	name, bin string
	env       []string
	args      func(addr string) []string
	// listening is the line the server prints once it has bound addr. A /health that answers on addr is
	// this server's only after that line: before it, another program on the port may be answering.
	listening func(addr string) string
}

// startAttempts bounds how often a server is started on a new port when another program took its port in
// the moment between FreeAddr and the server's bind.
const startAttempts = 3

// startServer runs s on a free address and waits until it has bound it and its /health answers 200, and
// returns the address. On failure, and when the test fails, it logs the end of the server's output.
func startServer(t *testing.T, s server) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := proctest.FreeAddr(t)
		proc := launch(t, s, addr)
		err := proc.awaitUp(s, addr)
		switch {
		case err == nil:
			return addr
		case errors.Is(err, errPortTaken) && attempt < startAttempts:
			t.Logf("%s: %v; starting it on another port", s.name, err)
		default:
			t.Fatalf("%s: %v\n%s", s.name, err, proctest.Tail(proc.output.String(), 4<<10))
		}
	}
}

// errPortTaken is a server's exit because another program bound its port first.
var errPortTaken = errors.New("another program took its port before it bound it")

// running is a server process a test started.
type running struct {
	output *proctest.Buffer
	exited chan struct{} // closed once the process has exited
	err    error         // its exit status, once exited is closed
}

// launch runs s on addr; the test's cleanup stops it.
func launch(t *testing.T, s server, addr string) *running {
	t.Helper()
	cmd := exec.Command(s.bin, s.args(addr)...)
	cmd.Env = append(os.Environ(), s.env...)
	proc := &running{output: &proctest.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = proc.output, proc.output
	cmd.WaitDelay = 10 * time.Second
	// A test binary killed before its cleanup (a timeout, an interrupted run) takes the server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", s.name, err)
	}
	go func() { proc.err = cmd.Wait(); close(proc.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-proc.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			select {
			case <-proc.exited:
			case <-time.After(10 * time.Second):
				t.Errorf("%s (pid %d) not reaped within 10s of SIGKILL", s.name, cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("%s on %s, output (last 4 KiB):\n%s", s.name, addr, proctest.Tail(proc.output.String(), 4<<10))
		}
	})
	return proc
}

// awaitUp waits until the process has said it is listening on addr and /health there answers 200.
func (p *running) awaitUp(s server, addr string) error {
	deadline := time.Now().Add(startWithin)
	for {
		select {
		case <-p.exited:
			if portTaken(p.output.String()) {
				return fmt.Errorf("exited at start on %s: %w", addr, errPortTaken)
			}
			return fmt.Errorf("exited at start on %s: %v", addr, p.err)
		default:
		}
		if strings.Contains(p.output.String(), s.listening(addr)) && healthy(addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not bind %s and answer /health with 200 within %v", addr, startWithin)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// portTaken reports whether a server's output says it could not bind its port: the runner's Go error, or
// llama-server's message.
func portTaken(output string) bool {
	return strings.Contains(output, "address already in use") || strings.Contains(output, "couldn't bind HTTP server socket")
}

// healthy reports whether addr's /health answers 200.
func healthy(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
