package llama

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"custos/internal/gguf"
)

// generatedLoRA writes an adapter for the generated model of o and returns its path.
func generatedLoRA(t testing.TB, o gguf.GenOptions, seed uint64) string {
	t.Helper()
	return generatedLoRAOf(t, o, gguf.LoRAOptions{Seed: seed})
}

func generatedLoRAOf(t testing.TB, o gguf.GenOptions, lo gguf.LoRAOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "adapter.gguf")
	if err := gguf.GenerateLoRAFile(path, generatedModel(t, o), lo); err != nil {
		t.Fatal(err)
	}
	return path
}

// lastLogits decodes prompt alone on sequence 0 of a cleared c and returns the logits of its last token.
func lastLogits(t *testing.T, c *Context, prompt []Token) []float32 {
	t.Helper()
	c.ClearMemory()
	b := newBatch(t, len(prompt), 1)
	fillPrompt(b, prompt, 0, 0)
	decode(t, c, b)
	return c.LogitsIth(int32(len(prompt) - 1))
}

func TestLoRAChangesLogitsByScale(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	adapter, err := m.LoadLoRA(generatedLoRA(t, smallModelOptions, 1))
	if err != nil {
		t.Fatal(err)
	}
	if adapter.TaskName != "" || adapter.PromptPrefix != "" {
		t.Errorf("task name %q, prompt prefix %q: the generated adapter has neither", adapter.TaskName, adapter.PromptPrefix)
	}
	c := newContext(t, m, ContextParams{NCtx: 256, NBatch: 64})
	prompt := tokens(t, m, testPrompt)
	base := lastLogits(t, c, prompt)

	c.SetLoRA([]*LoRA{adapter}, []float32{1})
	full := lastLogits(t, c, prompt)
	if slices.Equal(full, base) {
		t.Fatal("the adapter at scale 1 left the logits unchanged")
	}
	c.SetLoRA([]*LoRA{adapter}, []float32{0.5})
	half := lastLogits(t, c, prompt)
	if slices.Equal(half, base) || slices.Equal(half, full) {
		t.Error("the adapter at scale 0.5 gave the logits of scale 0 or 1")
	}
	c.SetLoRA([]*LoRA{adapter}, []float32{0})
	if !slices.Equal(lastLogits(t, c, prompt), base) {
		t.Error("the adapter at scale 0 changed the logits")
	}
	c.SetLoRA([]*LoRA{adapter}, []float32{1})
	c.SetLoRA(nil, nil)
	if !slices.Equal(lastLogits(t, c, prompt), base) {
		t.Error("no adapters after one at scale 1: the logits are not the base model's")
	}
}

func TestLoadLoRARefusesWhatDoesNotFit(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	other := gguf.GenOptions{Seed: 7, Dim: 32, Heads: 2}
	for name, path := range map[string]string{
		"another model's adapter": generatedLoRA(t, other, 1),
		"a model, not an adapter": generatedModel(t, smallModelOptions),
		"a missing file":          filepath.Join(t.TempDir(), "none.gguf"),
	} {
		_, err := m.LoadLoRA(path)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), "none.gguf") {
			t.Errorf("%s: the error does not name the file: %v", name, err)
		}
		if errors.Is(err, ErrActivatedLoRA) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLoadLoRARefusesActivatedLoRA(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	path := generatedLoRAOf(t, smallModelOptions, gguf.LoRAOptions{InvocationTokens: []int32{1, 2}})
	if _, err := m.LoadLoRA(path); !errors.Is(err, ErrActivatedLoRA) {
		t.Errorf("an activated LoRA: %v, want ErrActivatedLoRA", err)
	}
}
