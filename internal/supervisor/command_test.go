package supervisor

import (
	"slices"
	"testing"

	"custos/internal/config"
	"custos/internal/gguf"
)

func TestRunnerArgv(t *testing.T) {
	m := config.Model{ID: "tiny", Backend: config.BackendRunner, ModelPath: "/m/tiny model.gguf", MaxConcurrency: 4, Args: []string{"--ctx-size", "4096"}}
	got := buildArgv(m, "/usr/bin/custos", 4321)
	want := []string{"/usr/bin/custos", "runner", "-m", "/m/tiny model.gguf", "--host", "127.0.0.1", "--port", "4321",
		"--alias", "tiny", "--parallel", "4", "--ctx-size", "4096"}
	if !slices.Equal(got, want) {
		t.Fatalf("argv = %q, want %q", got, want)
	}
	m.Args = []string{"-np", "2"}
	if got := buildArgv(m, "/usr/bin/custos", 1); slices.Contains(got, "--parallel") {
		t.Fatalf("an explicit -np must not be overridden: %q", got)
	}
	m.Args, m.Info = nil, &gguf.Info{ContextLength: 2048}
	if got := buildArgv(m, "/usr/bin/custos", 1); !slices.Contains(got, "--ctx-size") || got[len(got)-1] != "2048" {
		t.Fatalf("a model trained on 2048 positions must get --ctx-size 2048: %q", got)
	}
	m.Info.ContextLength = 131072
	if got := buildArgv(m, "/usr/bin/custos", 1); slices.Contains(got, "--ctx-size") {
		t.Fatalf("a long-context model keeps the runner's default: %q", got)
	}
	if backendName(m) != BackendNameRunner {
		t.Fatalf("backend name = %q", backendName(m))
	}
}

func TestLlamaServerArgvSubstitutesEveryElement(t *testing.T) {
	m := config.Model{
		Backend:   config.BackendLlamaServer,
		ModelPath: "/m/a.gguf",
		Cmd:       []string{"llama-server", "-m", "${MODEL}", "--host", "${HOST}", "--port", "${PORT}", "--url=http://${HOST}:${PORT}"},
		Args:      []string{"-ngl", "99"},
	}
	got := buildArgv(m, "/unused", 8081)
	want := []string{"llama-server", "-m", "/m/a.gguf", "--host", "127.0.0.1", "--port", "8081", "--url=http://127.0.0.1:8081", "-ngl", "99"}
	if !slices.Equal(got, want) {
		t.Fatalf("argv = %q, want %q", got, want)
	}
	if backendName(m) != BackendNameLlamaServer {
		t.Fatalf("backend name = %q", backendName(m))
	}
}

func TestEnvAddsModelEnvLast(t *testing.T) {
	t.Setenv("CUSTOS_TEST_VAR", "outer")
	env := buildEnv(config.Model{Env: map[string]string{"CUSTOS_TEST_VAR": "model", "B": "2", "A": "1"}})
	tail := env[len(env)-3:]
	if want := []string{"A=1", "B=2", "CUSTOS_TEST_VAR=model"}; !slices.Equal(tail, want) {
		t.Fatalf("env tail = %q, want %q", tail, want)
	}
	if !slices.Contains(env, "CUSTOS_TEST_VAR=outer") {
		t.Fatal("custos's own environment is missing")
	}
}
