package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoRAAdaptersCountInTheFootprint(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
	if err := os.WriteFile(a, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(t, "models:\n  plain: {model: tiny.gguf}\n  tuned: {model: tiny.gguf, args: [\"--lora\", \""+a+
		"\", \"--lora-scaled="+b+":0.5\"]}\n")
	if err != nil {
		t.Fatal(err)
	}
	plain, _, _ := cfg.Models[0].Footprint()
	tuned, detail, _ := cfg.Models[1].Footprint()
	if tuned-plain != 4<<20 || !strings.Contains(detail, "LoRA adapters 4.0 MiB") {
		t.Fatalf("with 4 MiB of adapters: %d more bytes, %q", tuned-plain, detail)
	}
}

func TestAMissingLoRAAdapterIsAConfigurationError(t *testing.T) {
	_, err := parse(t, "models:\n  tuned: {model: tiny.gguf, args: [\"--lora-scaled\", \"/nonexistent/a.gguf:1,/nonexistent/b.gguf:2\"]}\n")
	wantProblem(t, err, "models.tuned.args", "the LoRA adapter /nonexistent/a.gguf does not exist")
	wantProblem(t, err, "models.tuned.args", "the LoRA adapter /nonexistent/b.gguf does not exist")
}
