package llama

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/gguf"
)

func TestLoadModelReportsProgress(t *testing.T) {
	initLibraries(t)
	var seen []float32
	m, err := LoadModel(generatedModel(t, smallModelOptions), ModelParams{Progress: func(p float32) bool {
		seen = append(seen, p)
		return true
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if len(seen) == 0 {
		t.Fatal("the progress callback was never called")
	}
	for i, p := range seen {
		if p < 0 || p > 1 || (i > 0 && p < seen[i-1]) {
			t.Fatalf("progress values %v: want non-decreasing values in [0, 1]", seen)
		}
	}
	if last := seen[len(seen)-1]; last != 1 {
		t.Errorf("last progress value %v, want 1", last)
	}
}

func TestLoadModelAbortedByProgress(t *testing.T) {
	initLibraries(t)
	calls := 0
	m, err := LoadModel(generatedModel(t, smallModelOptions), ModelParams{Progress: func(float32) bool {
		calls++
		return false
	}})
	if !errors.Is(err, ErrLoadAborted) {
		if m != nil {
			m.Close()
		}
		t.Fatalf("LoadModel with a progress callback returning false = %v; want ErrLoadAborted", err)
	}
	if calls != 1 {
		t.Errorf("progress called %d times after asking to abort, want 1", calls)
	}
}

func TestLoadModelMissingFile(t *testing.T) {
	initLibraries(t)
	path := filepath.Join(t.TempDir(), "absent.gguf")
	_, err := LoadModel(path, ModelParams{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadModel(missing file) = %v; want an error wrapping os.ErrNotExist", err)
	}
}

// TestLoadModelNotGGUFGivesLlamaReason checks that the reason llama.cpp logs, not just "failed", reaches
// the caller: the C function only returns NULL.
func TestLoadModelNotGGUFGivesLlamaReason(t *testing.T) {
	initLibraries(t)
	path := filepath.Join(t.TempDir(), "not.gguf")
	if err := os.WriteFile(path, []byte("definitely not a model file"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadModel(path, ModelParams{})
	if err == nil || !strings.Contains(err.Error(), "magic") {
		t.Fatalf("LoadModel(not a GGUF) = %v; want llama.cpp's reason (invalid magic)", err)
	}
}

// TestModelAgreesWithGGUFReader compares what llama.cpp reads from a generated model with what custos's own
// GGUF reader reads from the same file.
func TestModelAgreesWithGGUFReader(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	f, err := gguf.ReadFile(generatedModel(t, smallModelOptions))
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]any{}
	for _, kv := range f.Metadata {
		meta[kv.Key] = kv.Value
	}
	tokens, _ := meta["tokenizer.ggml.tokens"].(gguf.Array)
	for _, c := range []struct {
		what string
		got  int
		want any
	}{
		{"embedding width", m.NEmbd(), meta["llama.embedding_length"]},
		{"training context", m.NCtxTrain(), meta["llama.context_length"]},
		{"vocabulary size", m.NVocab(), tokens.Len()},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: llama.cpp says %d, the GGUF reader %v", c.what, c.got, c.want)
		}
	}
	if got := m.ChatTemplate(); got == "" || got != meta["tokenizer.chat_template"] {
		t.Errorf("chat template: llama.cpp says %q, the GGUF reader %q", got, meta["tokenizer.chat_template"])
	}
	if arch, ok := m.Meta("general.architecture"); !ok || arch != "llama" {
		t.Errorf("Meta(general.architecture) = %q, %v; want llama", arch, ok)
	}
	if _, ok := m.Meta("no.such.key"); ok {
		t.Error("Meta(no.such.key) reported the key as present")
	}
	if !strings.HasPrefix(m.Desc(), "llama") {
		t.Errorf("Desc() = %q, want it to start with the architecture", m.Desc())
	}
	if m.Size() == 0 || m.NParams() == 0 {
		t.Errorf("Size() = %d, NParams() = %d; want both positive", m.Size(), m.NParams())
	}
	// The generated model has F32 weights and a SentencePiece vocabulary (llama.cpp's type 1).
	if got := m.FileType(); got != "all F32" {
		t.Errorf("FileType() = %q, want \"all F32\"", got)
	}
	if got := m.VocabType(); got != 1 {
		t.Errorf("VocabType() = %d, want 1 (SentencePiece)", got)
	}
}

func TestModelCloseTwiceIsHarmless(t *testing.T) {
	initLibraries(t)
	m, err := LoadModel(generatedModel(t, smallModelOptions), ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	m.Close()
}
