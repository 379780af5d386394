package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
)

// An adapter that does not fit the model ends Serve with an error naming the adapter, as a model that
// cannot be loaded does: a runner that started without it would serve other text than asked for.
func TestLoRAThatDoesNotFitEndsServe(t *testing.T) {
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	other, adapter := filepath.Join(dir, "other.gguf"), filepath.Join(dir, "other-lora.gguf")
	if err := gguf.GenerateFile(other, gguf.GenOptions{Seed: 1, Dim: 32, Heads: 2}); err != nil {
		t.Fatal(err)
	}
	if err := gguf.GenerateLoRAFile(adapter, other, gguf.LoRAOptions{}); err != nil {
		t.Fatal(err)
	}
	notAdapter := filepath.Join(dir, "not-an-adapter.gguf")
	if err := os.WriteFile(notAdapter, []byte("GGUF but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{adapter, notAdapter} {
		err := serveError(t, Config{ModelPath: model, LibDir: llamatest.LibDir(t), CtxSize: 512,
			LoRA: []LoRASpec{{Path: path, Scale: 1}}})
		if err == nil || !strings.Contains(err.Error(), filepath.Base(path)) {
			t.Errorf("Serve with %s returned %v, want the load error naming the adapter", filepath.Base(path), err)
		}
	}
}
