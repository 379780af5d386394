// Package conformance sends the same requests to `custos runner` and to llama.cpp's own llama-server of the
// release the runner's libraries come from, both serving the same generated model with the same flags, and
// compares what they answer: status codes, the JSON shape (the same keys with the same value types, at every
// depth), and, where sampling is seeded, the generated text and its token ids. Each case lists the differences
// it allows, each with its reason (see differences_test.go); anything else that differs fails the case.
package conformance

import (
	"context"
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
	runnerAddr, llamaAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	startServer(t, "runner", runnerAddr, []string{"CUSTOS_LLAMA_LIB_DIR=" + llamatest.LibDir(t)}, bins.Custos,
		append([]string{"runner"}, withListen(flags, runnerAddr)...)...)
	startServer(t, "llama-server", llamaAddr, nil, llamatest.LlamaServer(t), append(withListen(flags, llamaAddr), llamaOnly...)...)
	return pair{runner: "http://" + runnerAddr, llama: "http://" + llamaAddr}
}

// withListen adds --host and --port for addr to flags.
func withListen(flags []string, addr string) []string {
	host, port, _ := strings.Cut(addr, ":")
	return append(append([]string{}, flags...), "--host", host, "--port", port)
}

// startServer runs bin with args and waits for its /health to answer 200; on failure, and when the test
// fails, it logs the end of the server's output.
func startServer(t *testing.T, name, addr string, env []string, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	output := &proctest.Buffer{}
	cmd.Stdout, cmd.Stderr = output, output
	cmd.WaitDelay = 10 * time.Second
	// A test binary killed before its cleanup (a timeout, an interrupted run) takes the server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Errorf("%s (pid %d) not reaped within 10s of SIGKILL", name, cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("%s output (last 4 KiB):\n%s", name, proctest.Tail(output.String(), 4<<10))
		}
	})
	deadline := time.Now().Add(startWithin)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s exited at start: %v\n%s", name, err, proctest.Tail(output.String(), 4<<10))
		default:
		}
		if healthy(addr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer /health with 200 within %v:\n%s", name, startWithin, proctest.Tail(output.String(), 4<<10))
		}
		time.Sleep(20 * time.Millisecond)
	}
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
