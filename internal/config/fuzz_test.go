package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the configuration parser: it must
// return a configuration or a *Error, never panic.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny.gguf"), tinyModel(), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, dir)
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
				t.Fatalf("error of the wrong kind: %T %v", err, err)
			}
			return
		}
		if len(cfg.Models) == 0 || cfg.Listen == "" {
			t.Fatalf("accepted a configuration without models or listen: %+v", cfg)
		}
	})
}
