package llama

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
)

// testDir holds the models generated for this test binary; TestMain removes it.
var testDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "custos-llama-test-") })

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		// Tests provoke llama.cpp errors on purpose; their text reaches the returned errors regardless.
		SetLogger(slog.New(slog.DiscardHandler))
	}
	code := m.Run()
	if dir, err := testDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// initLibraries loads the real llama.cpp libraries for a test, fetching them if needed.
func initLibraries(t testing.TB) {
	t.Helper()
	if err := Init(llamatest.LibDir(t)); err != nil {
		t.Fatal(err)
	}
}

var generated sync.Map // GenOptions → func() (string, error)

// generatedModel writes the model for o once per test binary and returns its path.
func generatedModel(t testing.TB, o gguf.GenOptions) string {
	t.Helper()
	once, _ := generated.LoadOrStore(o, sync.OnceValues(func() (string, error) {
		dir, err := testDir()
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, fmt.Sprintf("d%d-l%d-s%d.gguf", o.Dim, o.Layers, o.Seed))
		return path, gguf.GenerateFile(path, o)
	}))
	path, err := once.(func() (string, error))()
	if err != nil {
		t.Fatalf("generating model %+v: %v", o, err)
	}
	return path
}

// smallModelOptions is the small generated model most tests use (defaults: embedding 64, 2 layers).
var smallModelOptions = gguf.GenOptions{Seed: 7}

// loadModel loads the generated model for o with the real libraries, closed when the test ends.
func loadModel(t testing.TB, o gguf.GenOptions) *Model {
	t.Helper()
	initLibraries(t)
	m, err := LoadModel(generatedModel(t, o), ModelParams{UseMmap: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// newContext creates a context for m, closed when the test ends.
func newContext(t testing.TB, m *Model, p ContextParams) *Context {
	t.Helper()
	c, err := NewContext(m, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newBatch allocates a batch, freed when the test ends.
func newBatch(t testing.TB, nTokens, nSeqMax int) *Batch {
	t.Helper()
	b := NewBatch(nTokens, nSeqMax)
	t.Cleanup(b.Close)
	return b
}
