// Package llamatest gives tests the folder of the llama.cpp libraries and a real llama-server binary, fetching
// or building them on first use.
package llamatest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// libDirEnv overrides the folder, as it does for custos itself.
const libDirEnv = "CUSTOS_LLAMA_LIB_DIR"

var fetch = sync.OnceValues(fetchLibraries)

// LibDir returns the folder holding the llama.cpp libraries: $CUSTOS_LLAMA_LIB_DIR when set, else the
// repository's lib/llama, which it fills by running scripts/deps.sh (at most once per test binary; the
// script returns at once when the pinned libraries are already there). It fails the test, saying why,
// when the libraries cannot be had.
func LibDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv(libDirEnv); dir != "" {
		return dir
	}
	dir, err := fetch()
	if err != nil {
		t.Fatalf("llama.cpp libraries unavailable: %v", err)
	}
	return dir
}

// fetchLibraries runs scripts/deps.sh from the repository root and returns root/lib/llama.
func fetchLibraries() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "deps.sh"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("scripts/deps.sh: %v\n%s", err, out)
	}
	return filepath.Join(root, "lib", "llama"), nil
}

// repoRoot walks up from the working directory (the package folder under go test) to the folder with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; set " + libDirEnv)
		}
		dir = parent
	}
}
