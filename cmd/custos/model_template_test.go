package main

import (
	"os"
	"path/filepath"
	"slices"
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

func TestModelGenWithControlToolMarkers(t *testing.T) {
	dir := t.TempDir()
	tmplPath, path := filepath.Join(dir, "t.jinja"), filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(tmplPath, []byte("{{ '[TOOL_CALLS]' }}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for flagged, want := range map[bool]int32{false: 4, true: 3} { // user-defined, control
		args := []string{"gen", "--out", path, "--chat-template", tmplPath}
		if flagged {
			args = append(args, "--control-tool-markers")
		}
		if code, _, errs := runModel(args...); code != 0 {
			t.Fatalf("gen exit %d: %s", code, errs)
		}
		f, err := gguf.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		tokens, _ := f.Get("tokenizer.ggml.tokens")
		types, _ := f.Get("tokenizer.ggml.token_type")
		texts, _ := tokens.Value.(gguf.Array).Values.([]string)
		kinds, _ := types.Value.(gguf.Array).Values.([]int32)
		i := slices.Index(texts, "[TOOL_CALLS]")
		if i < 0 || i >= len(kinds) || kinds[i] != want {
			t.Errorf("--control-tool-markers %v: [TOOL_CALLS] at %d, types %d long, want type %d", flagged, i, len(kinds), want)
		}
	}
}
