package gguf

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func generateLoRA(t *testing.T, base *File, o LoRAOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := GenerateLoRA(&buf, base, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerateLoRALayout(t *testing.T) {
	base, err := readBytes(generate(t, GenOptions{Seed: 1, Dim: 32, Layers: 2, Heads: 2}))
	if err != nil {
		t.Fatal(err)
	}
	f, err := readBytes(generateLoRA(t, base, LoRAOptions{Rank: 3, Seed: 7}))
	if err != nil {
		t.Fatalf("the adapter does not read back: %v", err)
	}
	for key, want := range map[string]any{"general.architecture": "llama", "general.type": "adapter",
		"adapter.type": "lora", "adapter.lora.alpha": float32(3)} {
		if kv, ok := f.Get(key); !ok || kv.Value != want {
			t.Errorf("%s = %v (present %v), want %v", key, kv.Value, ok, want)
		}
	}
	targets := DefaultLoRATargets(base)
	if len(targets) != 2*2+1 {
		t.Fatalf("default targets %v, want attn_q and attn_v of 2 blocks and output.weight", targets)
	}
	if len(f.Tensors) != 2*len(targets) {
		t.Fatalf("%d tensors, want a pair per target (%d)", len(f.Tensors), 2*len(targets))
	}
	for _, name := range targets {
		w, _ := base.tensor(name)
		a, okA := f.tensor(name + ".lora_a")
		b, okB := f.tensor(name + ".lora_b")
		if !okA || !okB {
			t.Fatalf("no lora_a/lora_b pair for %s", name)
		}
		// llama.cpp checks W [in, out] against A [in, rank] and B [rank, out].
		if a.Dims[0] != w.Dims[0] || a.Dims[1] != 3 || b.Dims[0] != 3 || b.Dims[1] != w.Dims[1] {
			t.Errorf("%s: A %v, B %v for W %v", name, a.Dims, b.Dims, w.Dims)
		}
	}
}

func TestGenerateLoRAIsDeterministic(t *testing.T) {
	base, err := readBytes(generate(t, GenOptions{Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	a := generateLoRA(t, base, LoRAOptions{Seed: 5})
	if !bytes.Equal(a, generateLoRA(t, base, LoRAOptions{Seed: 5})) {
		t.Error("the same options gave different bytes")
	}
	if bytes.Equal(a, generateLoRA(t, base, LoRAOptions{Seed: 6})) {
		t.Error("another seed gave the same bytes")
	}
}

func TestGenerateLoRARejectsBadOptions(t *testing.T) {
	base, err := readBytes(generate(t, GenOptions{Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]LoRAOptions{
		"missing tensor": {Targets: []string{"blk.9.attn_q.weight"}},
		"vector":         {Targets: []string{"output_norm.weight"}},
		"embedding":      {Targets: []string{"token_embd.weight"}},
		"rank":           {Rank: maxLoRARank + 1},
	} {
		if err := GenerateLoRA(&bytes.Buffer{}, base, o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestGenerateLoRAFile(t *testing.T) {
	dir := t.TempDir()
	model, adapter := filepath.Join(dir, "m.gguf"), filepath.Join(dir, "a.gguf")
	if err := GenerateFile(model, GenOptions{Seed: 2}); err != nil {
		t.Fatal(err)
	}
	if err := GenerateLoRAFile(adapter, model, LoRAOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(adapter)
	if err != nil {
		t.Fatal(err)
	}
	if typ, _ := f.String("general.type"); typ != "adapter" {
		t.Errorf("general.type %q", typ)
	}
	err = GenerateLoRAFile(filepath.Join(dir, "b.gguf"), filepath.Join(dir, "none.gguf"), LoRAOptions{})
	if err == nil || !strings.Contains(err.Error(), "none.gguf") {
		t.Errorf("a missing base model: %v", err)
	}
}
