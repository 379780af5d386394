package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/llama/llamatest"
)

func runRunner(args ...string) (code int, stderr string) {
	var out, errb bytes.Buffer
	code = runnerCommand(args, &out, &errb)
	return code, errb.String()
}

func TestRunnerUsageErrorsExit2(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-m", "x.gguf", "--flash-attn"}, "flash-attn"},
		{"no model", []string{"--port", "0"}, "-m/--model"},
		{"stray argument", []string{"-m", "x.gguf", "extra"}, "extra"},
		{"bad value", []string{"-m", "x.gguf", "-np", "lots"}, "np"},
		{"negative threads", []string{"--model", "x.gguf", "-t", "-2"}, "threads"},
	} {
		code, stderr := runRunner(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 mentioning %q", c.name, code, stderr, c.want)
		}
	}
}

// A model that cannot be loaded ends the runner with status 1 and the reason in its log.
func TestRunnerLoadFailureExits1(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "broken.gguf")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr := runRunner("-m", bad, "--host", "127.0.0.1", "--port", "0", "--lib-dir", llamatest.LibDir(t))
	if code != 1 || !strings.Contains(stderr, "broken.gguf") {
		t.Fatalf("exit %d, stderr %q; want 1 naming the model", code, stderr)
	}
}
