package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/gguf"
)

func runModel(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = modelCommand(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestModelGenThenInfo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	code, out, errs := runModel("gen", "--out", path, "--dim", "32", "--layers", "3", "--heads", "2", "--seed", "9")
	if code != 0 {
		t.Fatalf("gen exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "wrote "+path) {
		t.Errorf("gen output %q", out)
	}

	code, out, errs = runModel("info", path)
	if code != 0 {
		t.Fatalf("info exit %d: %s", code, errs)
	}
	for _, want := range []string{"architecture     llama", "embedding        32", "layers           3",
		"heads            2 (kv 2)", "context length   2048", "<|im_start|>", "file size"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = runModel("info", path, "--json")
	if code != 0 {
		t.Fatalf("info --json exit %d: %s", code, errs)
	}
	var in gguf.Info
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("info --json: %v\n%s", err, out)
	}
	st, _ := os.Stat(path)
	if in.Architecture != "llama" || in.EmbeddingLength != 32 || in.BlockCount != 3 || in.Size != st.Size() {
		t.Errorf("info --json: %+v", in)
	}
}

func TestModelGenSameSeedSameFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
	for _, p := range []string{a, b} {
		if code, _, errs := runModel("gen", "--seed", "4", "--out", p); code != 0 {
			t.Fatalf("gen exit %d: %s", code, errs)
		}
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !bytes.Equal(da, db) {
		t.Error("same seed gave different files")
	}
}

func TestModelUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"gen"},
		{"gen", "--out"},
		{"gen", "--out", "x.gguf", "extra"},
		{"gen", "--out", "x.gguf", "--dim", "many"},
		{"info"},
		{"info", "a.gguf", "b.gguf"},
		{"info", "--bogus", "a.gguf"},
	} {
		if code, _, errs := runModel(args...); code != 2 || errs == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 with a message", args, code, errs)
		}
	}
}

func TestModelBadFiles(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.gguf")
	if err := os.WriteFile(broken, []byte("GGUF\x03\x00\x00\x00\xff\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runModel("info", broken)
	if code != 1 || !strings.Contains(errs, "not a valid GGUF file") || !strings.Contains(errs, broken) {
		t.Errorf("broken file: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runModel("info", filepath.Join(dir, "missing.gguf"))
	if code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runModel("gen", "--out", filepath.Join(dir, "m.gguf"), "--dim", "30", "--heads", "4")
	if code != 1 || !strings.Contains(errs, "heads") {
		t.Errorf("impossible shape: exit %d, stderr %q", code, errs)
	}
}

func TestModelLoRA(t *testing.T) {
	dir := t.TempDir()
	model, adapter := filepath.Join(dir, "m.gguf"), filepath.Join(dir, "a.gguf")
	if code, _, errs := runModel("gen", "--out", model); code != 0 {
		t.Fatalf("gen exit %d: %s", code, errs)
	}
	code, out, errs := runModel("lora", "--model", model, "--out", adapter, "--rank", "2", "--seed", "3")
	if code != 0 {
		t.Fatalf("lora exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "wrote "+adapter) {
		t.Errorf("lora output %q", out)
	}
	f, err := gguf.ReadFile(adapter)
	if err != nil {
		t.Fatal(err)
	}
	if typ, _ := f.String("adapter.type"); typ != "lora" {
		t.Errorf("adapter.type %q", typ)
	}
	if code, _, _ := runModel("lora", "--out", adapter); code != 2 {
		t.Errorf("lora without --model: exit %d, want 2", code)
	}
	if code, _, errs := runModel("lora", "--model", filepath.Join(dir, "none.gguf"), "--out", adapter); code != 1 {
		t.Errorf("lora of a missing model: exit %d, want 1 (%s)", code, errs)
	}
}
