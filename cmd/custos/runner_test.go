package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
	"custos/internal/runner"
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
		{"a llama-server flag the runner does not honour", []string{"-m", "x.gguf", "--no-slots"}, "no-slots"},
		{"no model", []string{"--port", "0"}, "-m/--model"},
		{"stray argument", []string{"-m", "x.gguf", "extra"}, "extra"},
		{"bad value", []string{"-m", "x.gguf", "-np", "lots"}, "np"},
		{"negative threads", []string{"--model", "x.gguf", "-t", "-2"}, "threads"},
		{"body limit not a number", []string{"-m", "x.gguf", "--max-body-bytes", "8MiB"}, `invalid value "8MiB"`},
		{"unknown reasoning format", []string{"-m", "x.gguf", "--reasoning-format", "r1"}, `--reasoning-format "r1"`},
		{"negative body limit", []string{"-m", "x.gguf", "--max-body-bytes", "-1"}, "max-body-bytes must not be negative"},
		{"lora-scaled without a scale", []string{"-m", "x.gguf", "--lora-scaled", "a.gguf"}, "FNAME:SCALE"},
		{"lora-scaled with a bad scale", []string{"-m", "x.gguf", "--lora-scaled", "a.gguf:much"}, `"much" is not a scale`},
		{"lora without a file", []string{"-m", "x.gguf", "--lora", "a.gguf,"}, "empty LoRA adapter file name"},
	} {
		code, stderr := runRunner(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 mentioning %q", c.name, code, stderr, c.want)
		}
	}
}

// Every flag name, short or long, lands in the runner's config or listen address.
func TestRunnerFlagAliasesFillTheConfig(t *testing.T) {
	defaults := runner.Config{ModelPath: "m.gguf", CtxSize: 4096, Parallel: 1, NPredict: -1, BatchSize: 2048, Seed: -1, MaxBodyBytes: 8 << 20, TimeoutSecs: 600}
	const defaultAddr = "127.0.0.1:8080"
	for _, c := range []struct {
		args []string
		set  func(*runner.Config) // what the args change in defaults
		addr string               // the listen address, when not defaultAddr
	}{
		{[]string{"-m", "a.gguf"}, func(c *runner.Config) { c.ModelPath = "a.gguf" }, ""},
		{[]string{"--model", "a.gguf"}, func(c *runner.Config) { c.ModelPath = "a.gguf" }, ""},
		{[]string{"--host", "0.0.0.0"}, nil, "0.0.0.0:8080"},
		{[]string{"--port", "9001"}, nil, "127.0.0.1:9001"},
		{[]string{"-c", "512"}, func(c *runner.Config) { c.CtxSize = 512 }, ""},
		{[]string{"--ctx-size", "512"}, func(c *runner.Config) { c.CtxSize = 512 }, ""},
		{[]string{"-np", "3"}, func(c *runner.Config) { c.Parallel = 3 }, ""},
		{[]string{"--parallel", "3"}, func(c *runner.Config) { c.Parallel = 3 }, ""},
		{[]string{"-t", "2"}, func(c *runner.Config) { c.Threads = 2 }, ""},
		{[]string{"--threads", "2"}, func(c *runner.Config) { c.Threads = 2 }, ""},
		{[]string{"--alias", "tiny"}, func(c *runner.Config) { c.Alias = "tiny" }, ""},
		{[]string{"--embeddings"}, func(c *runner.Config) { c.Embeddings = true }, ""},
		{[]string{"--pooling", "cls"}, func(c *runner.Config) { c.Pooling = "cls" }, ""},
		{[]string{"--reranking"}, func(c *runner.Config) { c.Reranking = true }, ""},
		{[]string{"--rerank"}, func(c *runner.Config) { c.Reranking = true }, ""},
		{[]string{"--seed", "42"}, func(c *runner.Config) { c.Seed = 42 }, ""},
		{[]string{"-n", "16"}, func(c *runner.Config) { c.NPredict = 16 }, ""},
		{[]string{"--n-predict", "16"}, func(c *runner.Config) { c.NPredict = 16 }, ""},
		{[]string{"-b", "256"}, func(c *runner.Config) { c.BatchSize = 256 }, ""},
		{[]string{"--batch-size", "256"}, func(c *runner.Config) { c.BatchSize = 256 }, ""},
		{[]string{"--lib-dir", "/opt/llama"}, func(c *runner.Config) { c.LibDir = "/opt/llama" }, ""},
		{[]string{"--max-body-bytes", "33554432"}, func(c *runner.Config) { c.MaxBodyBytes = 32 << 20 }, ""},
		{[]string{"-to", "30"}, func(c *runner.Config) { c.TimeoutSecs = 30 }, ""},
		{[]string{"--timeout", "45"}, func(c *runner.Config) { c.TimeoutSecs = 45 }, ""},
		{[]string{"--no-jinja"}, func(c *runner.Config) { c.NoJinja = true }, ""},
		{[]string{"--reasoning-format", "none"}, func(c *runner.Config) { c.ReasoningFormat = "none" }, ""},
		{[]string{"--jinja"}, nil, ""},
		{[]string{"--lora", "a.gguf"}, func(c *runner.Config) { c.LoRA = []runner.LoRASpec{{Path: "a.gguf", Scale: 1}} }, ""},
		{[]string{"--lora", "a.gguf,b.gguf", "--lora-scaled", "c.gguf:0.5", "--lora", "d.gguf"}, func(c *runner.Config) {
			c.LoRA = []runner.LoRASpec{{Path: "a.gguf", Scale: 1}, {Path: "b.gguf", Scale: 1}, {Path: "c.gguf", Scale: 0.5}, {Path: "d.gguf", Scale: 1}}
		}, ""},
		{[]string{"--lora-scaled", "a.gguf:2,b.gguf:-1"}, func(c *runner.Config) {
			c.LoRA = []runner.LoRASpec{{Path: "a.gguf", Scale: 2}, {Path: "b.gguf", Scale: -1}}
		}, ""},
		{[]string{"--lora-init-without-apply"}, func(c *runner.Config) { c.LoRAInitWithoutApply = true }, ""},
		{[]string{"--no-jinja", "--jinja"}, nil, ""},
		{[]string{"--metrics", "--slots", "--cont-batching", "-cb"}, nil, ""},
	} {
		var stderr bytes.Buffer
		// The model comes first; a later -m/--model replaces it.
		cfg, addr, ok := parseRunnerFlags(append([]string{"-m", "m.gguf"}, c.args...), &stderr)
		want, wantAddr := defaults, defaultAddr
		if c.set != nil {
			c.set(&want)
		}
		if c.addr != "" {
			wantAddr = c.addr
		}
		if !ok || !reflect.DeepEqual(cfg, want) || addr != wantAddr {
			t.Errorf("%q: ok %v, config %+v at %s (%s); want %+v at %s", c.args, ok, cfg, addr, stderr.String(), want, wantAddr)
		}
	}
}

// A model that cannot be loaded ends the runner with status 1 and the reason, naming the file, in its log.
func TestRunnerLoadFailureExits1(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "broken.gguf")
	if err := os.WriteFile(garbage, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A real model cut short: its header promises tensor data that is not there.
	truncated := filepath.Join(dir, "truncated.gguf")
	if err := gguf.GenerateFile(truncated, gguf.GenOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(truncated)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(truncated, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	libDir := llamatest.LibDir(t)
	type outcome struct {
		code   int
		stderr string
	}
	for _, model := range []string{garbage, truncated} {
		// A runner that serves on instead of failing would never return.
		done := make(chan outcome, 1)
		go func() {
			code, stderr := runRunner("-m", model, "--host", "127.0.0.1", "--port", "0", "--lib-dir", libDir)
			done <- outcome{code, stderr}
		}()
		select {
		case o := <-done:
			if o.code != 1 || !strings.Contains(o.stderr, filepath.Base(model)) {
				t.Errorf("%s: exit %d, stderr %q; want 1 naming the model", filepath.Base(model), o.code, o.stderr)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: custos runner still running 30s after it was given a model it cannot load", filepath.Base(model))
		}
	}
}
