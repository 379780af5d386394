package runner

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
)

// Runners on generated models of other kinds (fill-in-the-middle, reranker), shared like the main fixtures:
// each is started once per test binary and stopped with testCtx.
var (
	variantsMu sync.Mutex
	variants   = map[string]*fixture{}
)

// variantModel generates the model for o once, in the test binary's folder, and returns its path.
func variantModel(name string, o gguf.GenOptions) (string, error) {
	if _, err := testModel(); err != nil { // creates tempDir
		return "", err
	}
	path := filepath.Join(tempDir, name+".gguf")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	return path, gguf.GenerateFile(path, o)
}

// variantRunner returns the shared runner named name, serving the model of o with cfg's settings on top of
// the main fixtures' (ModelPath and LibDir are filled in), started on first use.
func variantRunner(t *testing.T, name string, o gguf.GenOptions, cfg Config) *fixture {
	t.Helper()
	variantsMu.Lock()
	defer variantsMu.Unlock()
	f, ok := variants[name]
	if !ok {
		f = startVariant(t, name, o, cfg)
		variants[name] = f
	}
	if f.err != nil {
		t.Fatal(f.err)
	}
	return f
}

func startVariant(t *testing.T, name string, o gguf.GenOptions, cfg Config) *fixture {
	model, err := variantModel(name, o)
	if err != nil {
		return &fixture{err: err}
	}
	cfg.ModelPath, cfg.LibDir = model, llamatest.LibDir(t)
	return serveShared(cfg, "runner variant "+name)
}

// realLlamaServer starts the real llama-server on model with args until the test ends, and returns it once
// /health says it is ready.
func realLlamaServer(t *testing.T, model string, args ...string) *fixture {
	t.Helper()
	bin := llamatest.LlamaServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, append([]string{"-m", model, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "-t", "1"}, args...)...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(waitLimit):
			t.Errorf("llama-server (pid %d) did not exit within %v of SIGKILL", cmd.Process.Pid, waitLimit)
		}
	})
	f := &fixture{base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if err := waitReady(f.base, 60*time.Second); err != nil {
		t.Fatalf("llama-server %s: %v", bin, err)
	}
	return f
}
