package llamatest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// llamaServerEnv names a llama-server binary to use instead of the one scripts/llama-server.sh builds.
const llamaServerEnv = "CUSTOS_LLAMA_SERVER"

var build = sync.OnceValues(buildLlamaServer)

// LlamaServer returns the path of a real llama.cpp llama-server of the release the libraries come from:
// $CUSTOS_LLAMA_SERVER when set, else the binary scripts/llama-server.sh builds into the user's cache (run at
// most once per test binary; it returns at once when the binary is already built, and takes minutes the first
// time on a machine). It fails the test, saying why, when there is none.
func LlamaServer(t testing.TB) string {
	t.Helper()
	if path := os.Getenv(llamaServerEnv); path != "" {
		return path
	}
	path, err := build()
	if err != nil {
		t.Fatalf("llama-server unavailable: %v", err)
	}
	return path
}

// buildLlamaServer runs scripts/llama-server.sh from the repository root and returns the path it prints.
func buildLlamaServer() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "scripts", "llama-server.sh"))
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/llama-server.sh: %v\n%s", err, stderr.String())
	}
	path := strings.TrimSpace(stdout.String())
	if !filepath.IsAbs(path) || strings.Contains(path, "\n") {
		return "", fmt.Errorf("scripts/llama-server.sh printed %q, want one absolute path", stdout.String())
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("scripts/llama-server.sh: %v", err)
	}
	return path, nil
}
