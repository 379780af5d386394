package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The configuration reference in the README is a configuration custos
// takes, every key and value as written there.
func TestTheREADMEConfigurationParses(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## Configuration")
	block := text[start:]
	block = block[strings.Index(block, "```yaml\n")+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeModel(t, filepath.Join(dir, "models"), "tiny.gguf")
	if err := os.WriteFile(filepath.Join(dir, "api-keys"), []byte("a-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FALLBACK_API_KEY", "fb")
	t.Setenv("CUSTOS_ADMIN_TOKEN", "admin")
	cfg, err := Parse([]byte(block), dir)
	if err != nil {
		t.Fatalf("the README's configuration:\n%s\nis refused: %v", block, err)
	}
	if len(cfg.Models) != 1 || cfg.Models[0].ID != "tiny" {
		t.Fatalf("models: %+v", cfg.Models)
	}
}

// The README's example of backends on other hosts is a configuration
// custos takes.
func TestTheREADMERemoteBackendsParse(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	block := text[strings.Index(text, "### Backends on other hosts"):]
	block = block[strings.Index(block, "```yaml\n")+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	t.Setenv("GPU_API_KEY", "k")
	cfg, err := Parse([]byte(block), t.TempDir())
	if err != nil {
		t.Fatalf("the README's remote backends:\n%s\nare refused: %v", block, err)
	}
	if len(cfg.Models) != 2 || cfg.Models[0].Remote == nil || len(cfg.Models[0].Remote.URLs) != 2 || cfg.Models[1].Remote.Discover == "" {
		t.Fatalf("models: %+v", cfg.Models)
	}
}
