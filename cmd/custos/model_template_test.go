package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/gguf"
)

func TestModelGenWithChatTemplate(t *testing.T) {
	dir := t.TempDir()
	tmplPath, path := filepath.Join(dir, "t.jinja"), filepath.Join(dir, "m.gguf")
	tmpl := "{{ bos_token }}{% for m in messages %}[INST]{{ m.content }}[/INST]{% endfor %}"
	if err := os.WriteFile(tmplPath, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runModel("gen", "--out", path, "--chat-template", tmplPath); code != 0 {
		t.Fatalf("gen exit %d: %s", code, errs)
	}
	f, err := gguf.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Info().ChatTemplate; got != tmpl {
		t.Errorf("chat template %q, want %q", got, tmpl)
	}

	code, _, errs := runModel("gen", "--out", path, "--chat-template", filepath.Join(dir, "missing.jinja"))
	if code != 1 || !strings.Contains(errs, "missing.jinja") {
		t.Errorf("missing template file: exit %d, stderr %q", code, errs)
	}
}
