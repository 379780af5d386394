package config

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"custos/internal/gguf"
)

// tinyModel is the bytes of the smallest valid model, made once.
var tinyModel = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	if err := gguf.Generate(&b, gguf.GenOptions{Dim: 8, Layers: 1, Heads: 1}); err != nil {
		panic(err)
	}
	return b.Bytes()
})

// writeModel writes a small valid GGUF model: validation reads its header.
func writeModel(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, tinyModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func parse(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	writeModel(t, dir, "tiny.gguf")
	return Parse([]byte(yaml), dir)
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("want *config.Error, got %v", err)
	}
	return cerr.Problems
}

func wantProblem(t *testing.T, err error, path, fragment string) {
	t.Helper()
	for _, p := range problemsOf(t, err) {
		if p.Path == path && strings.Contains(p.Message, fragment) {
			return
		}
	}
	t.Fatalf("want a problem at %q containing %q, got: %v", path, fragment, err)
}

func TestIssueExampleParses(t *testing.T) {
	t.Setenv("FALLBACK_API_KEY", "secret")
	cfg, err := parse(t, `
listen: 127.0.0.1:8080
models:
  tiny:
    backend: runner
    model: ./tiny.gguf
    args: ["--ctx-size", "4096"]
    env: {}
    aliases: ["default"]
    ready_timeout: 120s
    health_interval: 2s
    health_timeout: 1s
    unhealthy_after: 3
    restart_max: 3
    restart_backoff: 1s
    max_concurrency: 4
    queue_max: 64
    queue_timeout: 60s
fallback:
  url: http://127.0.0.1:9000/v1
  api_key_env: FALLBACK_API_KEY
  models: {tiny: some-remote-model}
readiness:
  deadline: 30s
shutdown_timeout: 30s
`)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := cfg.Model("default")
	if !ok || m.ID != "tiny" {
		t.Fatalf("alias default does not resolve to tiny: %+v", m)
	}
	if m.Info == nil || m.Info.Architecture != "llama" || m.Info.ContextLength == 0 {
		t.Errorf("model metadata not read: %+v", m.Info)
	}
	if !filepath.IsAbs(m.ModelPath) || filepath.Base(m.ModelPath) != "tiny.gguf" {
		t.Errorf("model path not resolved against the config folder: %q", m.ModelPath)
	}
	if cfg.Fallback.APIKey != "secret" || cfg.Fallback.Models["tiny"] != "some-remote-model" {
		t.Errorf("fallback not decoded: %+v", cfg.Fallback)
	}
	if m.QueueTimeout != 60*time.Second || m.MaxConcurrency != 4 || cfg.Readiness.Deadline != 30*time.Second {
		t.Errorf("values not decoded: %+v", m)
	}
}

func TestDefaultsFilledInOnePlace(t *testing.T) {
	cfg, err := parse(t, "models:\n  tiny:\n    model: tiny.gguf\n")
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Models[0]
	if cfg.Listen != DefaultListen || cfg.ShutdownTimeout != DefaultShutdownTimeout || cfg.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("top-level defaults missing: %+v", cfg)
	}
	if m.Backend != BackendRunner || m.ReadyTimeout != DefaultReadyTimeout || m.QueueMax != DefaultQueueMax ||
		m.UnhealthyAfter != DefaultUnhealthyAfter || m.RestartMax != DefaultRestartMax {
		t.Errorf("model defaults missing: %+v", m)
	}
}

func TestQueueMaxZeroIsKept(t *testing.T) {
	cfg, err := parse(t, "models:\n  tiny:\n    model: tiny.gguf\n    queue_max: 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Models[0].QueueMax != 0 {
		t.Fatalf("queue_max: 0 became %d", cfg.Models[0].QueueMax)
	}
}

func TestModelOrderIsFileOrder(t *testing.T) {
	cfg, err := parse(t, "models:\n  zeta:\n    model: tiny.gguf\n  alpha:\n    model: tiny.gguf\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Models[0].ID != "zeta" || cfg.Models[1].ID != "alpha" {
		t.Fatalf("order lost: %s, %s", cfg.Models[0].ID, cfg.Models[1].ID)
	}
}

func TestLlamaServerDefaultCmd(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, "tiny.gguf")
	prog := filepath.Join(dir, "fake-server")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte("models:\n  tiny:\n    backend: llama-server\n    cmd: [./fake-server, --host, \"${HOST}\", --port, \"${PORT}\"]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Models[0].Cmd[0] != prog {
		t.Fatalf("cmd[0] not resolved against the config folder: %q", cfg.Models[0].Cmd[0])
	}
}

// badConfig is a configuration that must be refused with a problem at
// path whose message holds fragment.
type badConfig struct{ name, yaml, path, fragment string }

func runBadConfigs(t *testing.T, cases []badConfig) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.yaml)
			if err == nil {
				t.Fatal("want an error")
			}
			wantProblem(t, err, tc.path, tc.fragment)
		})
	}
}

func TestBadConfigsNameTheKey(t *testing.T) {
	cases := []badConfig{
		{"unknown top key", "listn: x\nmodels:\n  tiny:\n    model: tiny.gguf\n", "listn", "unknown key"},
		{"unknown model key", "models:\n  tiny:\n    model: tiny.gguf\n    ready_timout: 1s\n", "models.tiny.ready_timout", "unknown key"},
		{"bad duration", "models:\n  tiny:\n    model: tiny.gguf\n    ready_timeout: 12x\n", "models.tiny.ready_timeout", "not a duration"},
		{"bare number duration", "models:\n  tiny:\n    model: tiny.gguf\n    health_interval: 2\n", "models.tiny.health_interval", "want a duration"},
		{"negative duration", "models:\n  tiny:\n    model: tiny.gguf\n    queue_timeout: -1s\n", "models.tiny.queue_timeout", "greater than zero"},
		{"wrong type", "models:\n  tiny:\n    model: tiny.gguf\n    restart_max: three\n", "models.tiny.restart_max", "whole number"},
		{"zero concurrency", "models:\n  tiny:\n    model: tiny.gguf\n    max_concurrency: 0\n", "models.tiny.max_concurrency", "out of range"},
		{"missing file", "models:\n  tiny:\n    model: nope.gguf\n", "models.tiny.model", "does not exist"},
		{"not a model", "models:\n  tiny:\n    model: /etc/passwd\n", "models.tiny.model", "not a usable GGUF model"},
		{"no model file", "models:\n  tiny:\n    backend: runner\n", "models.tiny.model", "required"},
		{"bad backend", "models:\n  tiny:\n    model: tiny.gguf\n    backend: vllm\n", "models.tiny.backend", "not a backend"},
		{"no models", "listen: 127.0.0.1:1\n", "models", "at least one"},
		{"duplicate alias", "models:\n  a:\n    model: tiny.gguf\n    aliases: [x]\n  b:\n    model: tiny.gguf\n    aliases: [x]\n", "models.b.aliases[0]", "already used by models.a.aliases[0]"},
		{"alias equals id", "models:\n  a:\n    model: tiny.gguf\n  b:\n    model: tiny.gguf\n    aliases: [a]\n", "models.b.aliases[0]", "already used by models.a"},
		{"bad listen", "listen: nowhere\nmodels:\n  tiny:\n    model: tiny.gguf\n", "listen", "host:port"},
		{"cmd not found", "models:\n  tiny:\n    backend: llama-server\n    cmd: [no-such-llama-server-xyz, --port, \"${PORT}\"]\n", "models.tiny.cmd[0]", "not found in PATH"},
		{"cmd without port", "models:\n  tiny:\n    backend: llama-server\n    cmd: [sh]\n", "models.tiny.cmd", "${PORT}"},
		{"cmd on runner", "models:\n  tiny:\n    model: tiny.gguf\n    cmd: [x]\n", "models.tiny.cmd", "only a llama-server"},
		{"bad model id", "models:\n  \"a b\":\n    model: tiny.gguf\n", "models.a b", "may only hold"},
		{"fallback url", "models:\n  tiny:\n    model: tiny.gguf\nfallback:\n  url: ftp://x\n", "fallback.url", "not an http"},
		{"fallback unknown model", "models:\n  tiny:\n    model: tiny.gguf\nfallback:\n  url: http://127.0.0.1:1/v1\n  models: {huge: x}\n", "fallback.models.huge", "no model"},
		{"fallback key unset", "models:\n  tiny:\n    model: tiny.gguf\nfallback:\n  url: http://127.0.0.1:1/v1\n  api_key_env: CUSTOS_TEST_UNSET_KEY\n", "fallback.api_key_env", "not set"},
		{"timeout above interval", "models:\n  tiny:\n    model: tiny.gguf\n    health_interval: 1s\n    health_timeout: 2s\n", "models.tiny.health_timeout", "longer than health_interval"},
		{"bad size", "max_body_bytes: lots\nmodels:\n  tiny:\n    model: tiny.gguf\n", "max_body_bytes", "not a size"},
		{"models not a map", "models: [a, b]\n", "models", "mapping"},
		{"log level", "log: {level: loud}\nmodels:\n  tiny:\n    model: tiny.gguf\n", "log.level", "not one of"},
		{"read timeout", "read_timeout: 0s\nmodels:\n  tiny:\n    model: tiny.gguf\n", "read_timeout", "greater than zero"},
		{"metrics listen", "metrics_listen: nowhere\nmodels:\n  tiny:\n    model: tiny.gguf\n", "metrics_listen", "host:port"},
		{"metrics listen is listen", "listen: 127.0.0.1:9\nmetrics_listen: 127.0.0.1:9\nmodels:\n  tiny:\n    model: tiny.gguf\n", "metrics_listen", "main listen address"},
		{"cors origin with path", "cors: {allowed_origins: [\"https://a.example/app\"]}\nmodels:\n  tiny:\n    model: tiny.gguf\n", "cors.allowed_origins[0]", "not an origin"},
		{"cors origin bare host", "cors: {allowed_origins: [a.example]}\nmodels:\n  tiny:\n    model: tiny.gguf\n", "cors.allowed_origins[0]", "not an origin"},
		{"cors unknown key", "cors: {origins: [\"*\"]}\nmodels:\n  tiny:\n    model: tiny.gguf\n", "cors.origins", "unknown key"},
		{"load", "models:\n  tiny:\n    model: tiny.gguf\n    load: lazily\n", "models.tiny.load", "not one of startup, on_demand"},
		{"ttl", "models:\n  tiny:\n    model: tiny.gguf\n    ttl: soon\n", "models.tiny.ttl", "not a duration"},
		{"pinned with ttl", "models:\n  tiny:\n    model: tiny.gguf\n    pinned: true\n    ttl: 5m\n", "models.tiny.ttl", "pinned"},
		{"larger than the budget", "resources: {memory: 1GiB}\nmodels:\n  tiny:\n    model: tiny.gguf\n    memory: 2GiB\n", "models.tiny", "needs 2.0 GiB, more than the whole memory budget (resources.memory: 1.0 GiB)"},
		{"startup models together", "resources: {memory: 3GiB}\nmodels:\n  a:\n    model: tiny.gguf\n    memory: 2GiB\n  b:\n    model: tiny.gguf\n    memory: 2GiB\n", "resources.memory", "(a, b) need 4.0 GiB together"},
		{"larger than the gpu budget", "resources: {gpu_memory: 4GiB}\nmodels:\n  tiny:\n    model: tiny.gguf\n    load: on_demand\n    gpu_memory: 6GiB\n", "models.tiny", "needs 6.0 GiB of GPU memory, more than the whole GPU budget"},
		{"startup models on the gpu together", "resources: {gpu_memory: 4GiB}\nmodels:\n  a:\n    model: tiny.gguf\n    gpu_memory: 3GiB\n  b:\n    model: tiny.gguf\n    gpu_memory: 3GiB\n", "resources.gpu_memory", "6.0 GiB of GPU memory together"},
		{"bad budget", "resources: {memory: plenty}\nmodels:\n  tiny:\n    model: tiny.gguf\n", "resources.memory", "not a size"},
		{"max held", "intervention: {max_held: 0}\nmodels:\n  tiny:\n    model: tiny.gguf\n", "intervention.max_held", "out of range"},
		{"max held bytes", "intervention: {max_held_bytes: much}\nmodels:\n  tiny:\n    model: tiny.gguf\n", "intervention.max_held_bytes", "not a size"},
	}
	runBadConfigs(t, cases)
}

// A backend listens on loopback only, reachable through the gateway: a
// llama-server command that is not given custos's ${HOST} could bind every
// interface, and args naming an address or port would override custos's.
func TestConfigCannotMakeABackendListenBeyondLoopback(t *testing.T) {
	cases := []badConfig{
		{"cmd without host", "models:\n  tiny:\n    backend: llama-server\n    cmd: [sh, --port, \"${PORT}\"]\n", "models.tiny.cmd", "must pass ${HOST}"},
		{"llama-server args host", "models:\n  tiny:\n    backend: llama-server\n    cmd: [sh, --host, \"${HOST}\", --port, \"${PORT}\"]\n    args: [--ctx-size, \"512\", --host, 0.0.0.0]\n", "models.tiny.args[2]", "where the backend listens"},
		{"llama-server args port", "models:\n  tiny:\n    backend: llama-server\n    cmd: [sh, --host, \"${HOST}\", --port, \"${PORT}\"]\n    args: [--port=9000]\n", "models.tiny.args[0]", "where the backend listens"},
		{"runner args host", "models:\n  tiny:\n    model: tiny.gguf\n    args: [--host=0.0.0.0]\n", "models.tiny.args[0]", "where the backend listens"},
		{"runner args port", "models:\n  tiny:\n    model: tiny.gguf\n    args: [-c, \"512\", --port, \"9000\"]\n", "models.tiny.args[2]", "where the backend listens"},
		{"cmd host overridden", "models:\n  tiny:\n    backend: llama-server\n    cmd: [sh, --host, \"${HOST}\", --host, 0.0.0.0, --port, \"${PORT}\"]\n", "models.tiny.cmd[3]", "--host must be given ${HOST}"},
		{"cmd port inline", "models:\n  tiny:\n    backend: llama-server\n    cmd: [sh, --host, \"${HOST}\", \"--port=9000\", \"${PORT}\"]\n", "models.tiny.cmd[3]", "--port must be given ${PORT}"},
		{"runner args one-dash host", "models:\n  tiny:\n    model: tiny.gguf\n    args: [-host, \"::\"]\n", "models.tiny.args[0]", "where the backend listens"},
	}
	runBadConfigs(t, cases)
	// Flags that only look alike are other flags.
	if _, err := parse(t, "models:\n  tiny:\n    model: tiny.gguf\n    args: [--hostname, x, --reuse-port]\n"); err != nil {
		t.Fatalf("args that do not set the address were refused: %v", err)
	}
}

func TestInvalidYAML(t *testing.T) {
	_, err := parse(t, "models:\n  tiny: [\n")
	if err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Fatalf("want a YAML error, got %v", err)
	}
}

func TestDuplicateYAMLKey(t *testing.T) {
	_, err := parse(t, "models:\n  tiny:\n    model: tiny.gguf\n  tiny:\n    model: tiny.gguf\n")
	if err == nil {
		t.Fatal("a duplicate model key must be an error")
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, err := parse(t, "listn: x\nmodels:\n  tiny:\n    model: tiny.gguf\n    ready_timeout: nope\n")
	if got := len(problemsOf(t, err)); got != 2 {
		t.Fatalf("want 2 problems in one error, got %d: %v", got, err)
	}
}

func TestCheckListenReportsPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := &Config{Listen: ln.Addr().String()}
	err = CheckListen(cfg)
	if err == nil {
		t.Fatal("want an error for a port in use")
	}
	wantProblem(t, err, "listen", "in use")
}

func TestFromModelFile(t *testing.T) {
	dir := t.TempDir()
	path := writeModel(t, dir, "tiny-chat.gguf")
	cfg, err := FromModelFile(path, DefaultListen)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Models[0].ID != "tiny-chat" || cfg.Models[0].Backend != BackendRunner {
		t.Fatalf("unexpected model: %+v", cfg.Models[0])
	}
	if m, ok := cfg.Model("default"); !ok || m.ID != "tiny-chat" {
		t.Fatal("alias default missing")
	}
	if _, err := FromModelFile(filepath.Join(dir, "missing.gguf"), DefaultListen); err == nil {
		t.Fatal("a missing model file must be an error")
	} else {
		wantProblem(t, err, "--model", "does not exist")
	}
}

func TestInterventionStoreAdminAuth(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, "tiny.gguf")
	if err := os.WriteFile(filepath.Join(dir, "keys"), []byte("# clients\nkey-one\nkey-two, key-three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CUSTOS_TEST_ADMIN", " s3cret \n")
	cfg, err := Parse([]byte(`
listen: 0.0.0.0:8080
models:
  tiny: {model: tiny.gguf}
intervention: {pause_on_distressed: true, max_pause: 10s}
store: {path: state/custos.db}
admin: {token_env: CUSTOS_TEST_ADMIN}
auth: {api_keys_file: keys}
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Intervention
	if !in.Enabled || !in.PauseOnDistressed || in.PauseOnConcerned || in.MaxPause != 10*time.Second || in.WaitTimeout != DefaultWaitTimeout {
		t.Errorf("intervention: %+v", in)
	}
	if cfg.Store.Path != filepath.Join(dir, "state", "custos.db") {
		t.Errorf("store path not resolved: %q", cfg.Store.Path)
	}
	if cfg.Admin.Token != "s3cret" {
		t.Errorf("admin token: %q", cfg.Admin.Token)
	}
	if strings.Join(cfg.Auth.APIKeys, "|") != "key-one|key-two|key-three" {
		t.Errorf("api keys: %q", cfg.Auth.APIKeys)
	}
}

func TestAdminOnNetworkWithoutTokenRefused(t *testing.T) {
	_, err := parse(t, "listen: 0.0.0.0:8080\nmodels:\n  tiny:\n    model: tiny.gguf\n")
	wantProblem(t, err, "admin", "not a loopback address")
	if _, err := parse(t, "listen: 127.0.0.1:8080\nmodels:\n  tiny:\n    model: tiny.gguf\n"); err != nil {
		t.Fatalf("loopback without a token is fine: %v", err)
	}
}

// A value given on the command line goes through the same validation as
// the file's: serve --listen 0.0.0.0:8080 without an admin token is refused
// as the same listen in the file would be.
func TestListenFlagIsValidatedLikeTheFile(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, "tiny.gguf")
	path := filepath.Join(dir, "custos.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:8080\nmodels:\n  tiny:\n    model: tiny.gguf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadWith(path, Overrides{Listen: "0.0.0.0:8080"})
	wantProblem(t, err, "admin", "--listen 0.0.0.0:8080 is not a loopback address")
	_, err = LoadWith(path, Overrides{Listen: "nowhere"})
	wantProblem(t, err, "--listen", "host:port")
	cfg, err := LoadWith(path, Overrides{Listen: "127.0.0.1:9999"})
	if err != nil || cfg.Listen != "127.0.0.1:9999" {
		t.Fatalf("a loopback --listen: %v, %+v", err, cfg)
	}
	_, err = FromModelFile(writeModel(t, dir, "other.gguf"), "0.0.0.0:8080")
	wantProblem(t, err, "admin", "--listen 0.0.0.0:8080")
}

func TestHardeningKeys(t *testing.T) {
	cfg, err := parse(t, `
read_timeout: 5s
metrics_listen: 127.0.0.1:9464
cors: {allowed_origins: ["https://chat.example.com", "http://localhost:3000", "*"]}
intervention: {max_held: 10, max_held_bytes: 1MiB}
models:
  tiny: {model: tiny.gguf}
`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReadTimeout != 5*time.Second || cfg.MetricsListen != "127.0.0.1:9464" || len(cfg.CORS.AllowedOrigins) != 3 ||
		cfg.Intervention.MaxHeld != 10 || cfg.Intervention.MaxHeldBytes != 1<<20 {
		t.Fatalf("not decoded: %+v", cfg)
	}
	d, err := parse(t, "models:\n  tiny: {model: tiny.gguf}\n")
	if err != nil {
		t.Fatal(err)
	}
	if d.ReadTimeout != DefaultReadTimeout || d.Intervention.MaxHeld != DefaultMaxHeld || d.Intervention.MaxHeldBytes != DefaultMaxHeldBytes || d.MetricsListen != "" {
		t.Fatalf("defaults: %+v", d)
	}
}

// A configuration from before the budget existed is not refused by the
// default (auto) budget: a model loaded at startup larger than the
// machine's memory still starts, as it did (mmap lets it). An on-demand one
// is refused, since it could never be loaded.
func TestAutoBudgetDoesNotRefuseStartupModels(t *testing.T) {
	if _, err := parse(t, "models:\n  big: {model: tiny.gguf, memory: 100TiB}\n"); err != nil {
		t.Fatalf("a startup model under the auto budget: %v", err)
	}
	_, err := parse(t, "models:\n  big: {model: tiny.gguf, memory: 1000GiB, load: on_demand}\n")
	wantProblem(t, err, "models.big", "more than the whole memory budget")
	_, err = parse(t, "resources: {memory: 20GiB}\nmodels:\n  pin: {model: tiny.gguf, memory: 15GiB, pinned: true}\n  x: {model: tiny.gguf, memory: 8GiB, load: on_demand}\n")
	wantProblem(t, err, "models.x", "more than the 5.0 GiB the pinned models leave")
	if _, err := parse(t, "models:\n  tiny: {model: tiny.gguf, memory: 0, gpu_memory: 0}\nresources: {gpu_memory: 0}\n"); err != nil {
		t.Fatalf("zero sizes mean \"not set\": %v", err)
	}
}

func TestManyModelKeys(t *testing.T) {
	cfg, err := parse(t, `
resources: {memory: 20GiB, gpu_memory: 8GiB}
models:
  chat: {model: tiny.gguf, args: ["-ngl", "99"]}
  coder: {model: tiny.gguf, load: on_demand, ttl: 10m, memory: 3GiB}
  embed: {model: tiny.gguf, load: on_demand, pinned: true, ttl: 0}
`)
	if err != nil {
		t.Fatal(err)
	}
	chat, coder, embed := cfg.Models[0], cfg.Models[1], cfg.Models[2]
	if cfg.Resources.Memory != 20<<30 || cfg.Resources.MemoryAuto || cfg.Resources.GPUMemory != 8<<30 {
		t.Errorf("resources: %+v", cfg.Resources)
	}
	if chat.Load != LoadStartup || chat.TTL != 0 || chat.Pinned {
		t.Errorf("defaults: %+v", chat)
	}
	if coder.Load != LoadOnDemand || coder.TTL != 10*time.Minute || coder.Memory != 3<<30 || !embed.Pinned || embed.TTL != 0 {
		t.Errorf("decoded: %+v %+v", coder, embed)
	}
	if need, detail, ok := coder.Footprint(); !ok || need != 3<<30 || !strings.Contains(detail, "memory: in the configuration") {
		t.Errorf("override: %d %q %v", need, detail, ok)
	}
	if need, detail, ok := chat.Footprint(); !ok || need <= chat.Info.Size || !strings.Contains(detail, "KV cache") {
		t.Errorf("estimate: %d %q %v", need, detail, ok)
	}
	if g := chat.GPUFootprint(); g <= chat.Info.Size {
		t.Errorf("-ngl 99 offloads every layer: GPU footprint %d, file %d", g, chat.Info.Size)
	}
	if g := coder.GPUFootprint(); g != 0 {
		t.Errorf("no -ngl: GPU footprint %d", g)
	}
	auto, err := parse(t, "models:\n  tiny: {model: tiny.gguf}\n")
	if err != nil || !auto.Resources.MemoryAuto || auto.Resources.Memory <= 0 {
		t.Fatalf("resources.memory auto: %+v, %v", auto.Resources, err)
	}
}

func TestSecretSourcesMistakes(t *testing.T) {
	cases := []struct{ name, yaml, path, fragment string }{
		{"unset env", "admin: {token_env: CUSTOS_TEST_NOPE}\n", "admin.token_env", "not set"},
		{"both sources", "admin: {token_env: A, token_file: b}\n", "admin.token_env", "not both"},
		{"missing file", "auth: {api_keys_file: nope}\n", "auth.api_keys_file", "cannot read"},
		{"bad flag", "intervention: {enabled: maybe}\n", "intervention.enabled", "true or false"},
		{"unknown key", "intervention: {pause_on_sad: true}\n", "intervention.pause_on_sad", "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.yaml+"models:\n  tiny:\n    model: tiny.gguf\n")
			wantProblem(t, err, tc.path, tc.fragment)
		})
	}
}

func TestDefaultModelIsTheOneNamedDefault(t *testing.T) {
	cases := []struct {
		models []Model
		want   int
	}{
		{[]Model{{ID: "a"}, {ID: "b", Aliases: []string{"x", DefaultModelName}}}, 1},
		{[]Model{{ID: "a"}, {ID: DefaultModelName}}, 1},
		{[]Model{{ID: "a"}, {ID: "b"}}, 0},
	}
	for _, tc := range cases {
		if got := (&Config{Models: tc.models}).DefaultModel(); got != tc.want {
			t.Errorf("%+v: got %d, want %d", tc.models, got, tc.want)
		}
	}
}
