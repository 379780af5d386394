package supervisor

import (
	"slices"
	"testing"

	"custos/internal/config"
	"custos/internal/gguf"
)

func TestRunnerArgv(t *testing.T) {
	m := config.Model{ID: "tiny", Backend: config.BackendRunner, ModelPath: "/m/tiny model.gguf", MaxConcurrency: 4, Args: []string{"--ctx-size", "4096"}}
	got := buildArgv(m, "/usr/bin/custos", 4321, 0)
	want := []string{"/usr/bin/custos", "runner", "-m", "/m/tiny model.gguf", "--host", "127.0.0.1", "--port", "4321",
		"--alias", "tiny", "--parallel", "4", "--ctx-size", "4096"}
	if !slices.Equal(got, want) {
		t.Fatalf("argv = %q, want %q", got, want)
	}
	m.Args = []string{"-np", "2"}
	if got := buildArgv(m, "/usr/bin/custos", 1, 0); slices.Contains(got, "--parallel") {
		t.Fatalf("an explicit -np must not be overridden: %q", got)
	}
	m.Args, m.Info = nil, &gguf.Info{ContextLength: 2048}
	if got := buildArgv(m, "/usr/bin/custos", 1, 0); !slices.Contains(got, "--ctx-size") || got[len(got)-1] != "2048" {
		t.Fatalf("a model trained on 2048 positions must get --ctx-size 2048: %q", got)
	}
	m.Info.ContextLength = 131072
	if got := buildArgv(m, "/usr/bin/custos", 1, 0); slices.Contains(got, "--ctx-size") {
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
	got := buildArgv(m, "/unused", 8081, 32<<20)
	want := []string{"llama-server", "-m", "/m/a.gguf", "--host", "127.0.0.1", "--port", "8081", "--url=http://127.0.0.1:8081", "-ngl", "99"}
	if !slices.Equal(got, want) {
		t.Fatalf("argv = %q, want %q", got, want)
	}
	if backendName(m) != BackendNameLlamaServer {
		t.Fatalf("backend name = %q", backendName(m))
	}
}

// A runner backend reads every body the gateway accepts: it is given the
// gateway's max_body_bytes, unless its args set a limit themselves. A
// llama-server backend gets no flag it may not know.
func TestRunnerArgvPassesTheGatewayBodyLimit(t *testing.T) {
	m := config.Model{ID: "tiny", Backend: config.BackendRunner, ModelPath: "/m/tiny.gguf", MaxConcurrency: 4}
	got := buildArgv(m, "/usr/bin/custos", 4321, 32<<20)
	if i := slices.Index(got, "--max-body-bytes"); i < 0 || i+1 >= len(got) || got[i+1] != "33554432" {
		t.Fatalf("argv %q: want --max-body-bytes 33554432, the gateway's limit", got)
	}
	m.Args = []string{"--max-body-bytes", "1024"}
	if got := buildArgv(m, "/usr/bin/custos", 1, 32<<20); slices.Contains(got, "33554432") {
		t.Fatalf("an explicit --max-body-bytes must not be overridden: %q", got)
	}
}

func TestEnvAddsModelEnvLast(t *testing.T) {
	t.Setenv("TZ", "outer")
	env := buildEnv(config.Model{Env: map[string]string{"TZ": "model", "B": "2", "A": "1"}}, nil)
	tail := env[len(env)-3:]
	if want := []string{"A=1", "B=2", "TZ=model"}; !slices.Equal(tail, want) {
		t.Fatalf("env tail = %q, want %q", tail, want)
	}
	if !slices.Contains(env, "TZ=outer") {
		t.Fatal("custos's own TZ is missing before the model's")
	}
}
