package conformance

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// loraAdapter generates, once, a LoRA adapter for the suite's model with `custos model lora`.
var loraAdapter = sync.OnceValues(func() (string, error) {
	base, err := model()
	if err != nil {
		return "", err
	}
	path := filepath.Join(bins.Dir, "tiny-256x4-lora.gguf")
	if out, err := exec.Command(bins.Custos, "model", "lora", "--model", base, "--out", path, "--seed", "3").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	return path, nil
})

// adapterFile is the generated adapter's path, failing the test when it cannot be made.
func adapterFile(t *testing.T) string {
	t.Helper()
	path, err := loraAdapter()
	if err != nil {
		t.Fatalf("custos model lora: %v", err)
	}
	return path
}

var loraListed = values("[].id", "[].path", "[].scale", "[].task_name", "[].prompt_prefix")

// loraCases run in order on one pair: the global scale, a request's own, then an update of the global one.
// A prompt of its own after the update keeps llama-server from reusing a cache computed before it.
var loraCases = []testCase{
	{"lora adapters listed", "GET", "/lora-adapters", "", loraListed, nil},
	{"completion with the adapter", "POST", "/completion", seededCompletion + `}`, withSettings(seeded("content", "tokens_predicted"), "generation_settings.", false), nil},
	{"completion at a request's scale", "POST", "/completion", seededCompletion + `,"lora":[{"id":0,"scale":0.5}]}`, withSettings(seeded("content", "tokens_predicted"), "generation_settings.", false), nil},
	{"chat with the adapter off", "POST", "/v1/chat/completions", seededChat + `,"lora":[{"id":0,"scale":0}]}`, seeded("choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"set the adapters' scales", "POST", "/lora-adapters", `[{"id":0,"scale":0.25}]`, values("success"), nil},
	{"lora adapters after the update", "GET", "/lora-adapters", "", loraListed, nil},
	{"completion at the new global scale", "POST", "/completion", `{"prompt":"a story begins","n_predict":16,"seed":5,"ignore_eos":true,"cache_prompt":false}`, seeded("content"), nil},
	{"lora naming no adapter", "POST", "/completion", seededCompletion + `,"lora":[{"id":3,"scale":1}]}`, shape(), allow(loraUnknownID)},
}

// TestConformanceLoRA runs the LoRA cases against a runner and a llama-server that load the same generated
// adapter with --lora.
func TestConformanceLoRA(t *testing.T) {
	p := startPair(t, []string{"--lora", adapterFile(t)}, nil)
	for _, c := range loraCases {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}

// TestConformanceLoRAInitWithoutApply: under --lora-init-without-apply the runner starts the adapter at
// scale 0, as the flag's help says; llama-server of this release lists and applies it at its --lora scale.
func TestConformanceLoRAInitWithoutApply(t *testing.T) {
	p := startPair(t, []string{"--lora", adapterFile(t), "--lora-init-without-apply"}, nil)
	for _, c := range []testCase{
		{"lora adapters listed", "GET", "/lora-adapters", "", loraListed, allow(loraInitWithoutApply)},
		{"completion", "POST", "/completion", seededCompletion + `}`, values("content"), allow(loraInitWithoutApply)},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}
