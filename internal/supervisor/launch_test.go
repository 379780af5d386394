package supervisor

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"custos/internal/config"
)

// outputOf runs cfg's only model under a Supervisor until the backend has
// written a line containing want, and returns its output lines. The
// programs run here print and exit; their restarts only repeat the lines.
func outputOf(t *testing.T, cfg *config.Config, opts Options, want string) []string {
	t.Helper()
	opts.Logger = testLogger()
	s := New(cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	defer func() {
		stopCtx, stopCancel := context.WithTimeout(context.Background(), waitLimit)
		defer stopCancel()
		if err := s.Stop(stopCtx); err != nil {
			t.Errorf("stopping the backend: %v", err)
		}
	}()
	b, _ := s.Backend(cfg.Models[0].ID)
	deadline := time.Now().Add(waitLimit)
	for {
		lines := b.Logs()
		if slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) }) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("no output line containing %q within %v; output: %q, state %+v", want, waitLimit, lines, b.Snapshot())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quickModel is a model whose backend is argv, restarted soon after it
// exits, keeping enough output for a whole environment.
func quickModel(backend string, argv ...string) config.Model {
	m := standinModel()
	m.Backend, m.Cmd, m.LogLines = backend, argv, 1000
	return m
}

// A backend gets what it needs of custos's environment (programs, home,
// locale, GPU selection) and its model's env:, never custos's secrets nor
// anything else custos was started with.
func TestBackendDoesNotInheritCustosSecretsOrOtherVariables(t *testing.T) {
	envProg, err := exec.LookPath("env")
	if err != nil {
		t.Fatalf("this test runs env(1) as the backend: %v", err)
	}
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "LANG": "C.UTF-8", "LC_MESSAGES": "C", "TZ": "UTC", "CUDA_VISIBLE_DEVICES": "0",
		// Secrets, named so that inheritedEnv's prefixes would let them through.
		"GGML_CUSTOS_TEST_ADMIN_TOKEN": "admin-secret",
		"HIP_CUSTOS_TEST_FALLBACK_KEY": "fallback-secret",
		"CUDA_CUSTOS_TEST_API_KEYS":    "api-keys-secret",
		"CUSTOS_TEST_UNRELATED":        "not for backends",
	} {
		t.Setenv(k, v)
	}
	m := quickModel(config.BackendLlamaServer, envProg)
	// The model's own env: wins, and may pass a secret on purpose.
	m.Env = map[string]string{"CUSTOS_TEST_MODEL_VAR": "from env:", "CUDA_CUSTOS_TEST_API_KEYS": "given by env:"}
	cfg := &config.Config{
		Models:   []config.Model{m},
		Admin:    config.Admin{TokenEnv: "GGML_CUSTOS_TEST_ADMIN_TOKEN"},
		Fallback: &config.Fallback{APIKeyEnv: "HIP_CUSTOS_TEST_FALLBACK_KEY"},
		Auth:     config.Auth{APIKeysEnv: "CUDA_CUSTOS_TEST_API_KEYS"},
	}
	lines := outputOf(t, cfg, Options{}, "CUSTOS_TEST_MODEL_VAR=")
	for _, want := range []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "LC_MESSAGES=C", "TZ=UTC",
		"CUDA_VISIBLE_DEVICES=0", "CUSTOS_TEST_MODEL_VAR=from env:", "CUDA_CUSTOS_TEST_API_KEYS=given by env:",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("the backend's environment lacks %q", want)
		}
	}
	for _, leaked := range []string{"admin-secret", "fallback-secret", "api-keys-secret", "CUSTOS_TEST_UNRELATED"} {
		for _, l := range lines {
			if strings.Contains(l, leaked) {
				t.Errorf("the backend's environment holds %q: %q", leaked, l)
			}
		}
	}
}

// A runner backend is started with the gateway's max_body_bytes, so that a
// body the gateway accepts is not refused by the runner.
func TestRunnerBackendIsGivenTheGatewayBodyLimit(t *testing.T) {
	echo, err := exec.LookPath("echo")
	if err != nil {
		t.Fatalf("this test runs echo(1) as custos: %v", err)
	}
	m := quickModel(config.BackendRunner)
	m.Cmd, m.MaxConcurrency = nil, 2
	cfg := &config.Config{Models: []config.Model{m}, MaxBodyBytes: 32 << 20}
	// echo stands in for the custos binary: its output is the runner's argv.
	outputOf(t, cfg, Options{Executable: echo}, "--max-body-bytes 33554432")
}
