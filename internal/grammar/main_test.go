package grammar

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"custos/internal/gguf"
	"custos/internal/llama"
	"custos/internal/llama/llamatest"
)

// The grammars are checked by llama.cpp itself: its parser must take them, and its grammar sampler must
// take the valid documents and refuse the invalid ones, token by token, on a small generated model whose
// byte-level vocabulary spells any text.

var testModel = struct {
	once  sync.Once
	model *llama.Model
	dir   string
	err   error
}{}

func TestMain(m *testing.M) {
	code := m.Run()
	if testModel.model != nil {
		testModel.model.Close()
	}
	if testModel.dir != "" {
		os.RemoveAll(testModel.dir)
	}
	os.Exit(code)
}

// model loads the generated model once per test binary.
func model(t *testing.T) *llama.Model {
	t.Helper()
	libDir := llamatest.LibDir(t)
	testModel.once.Do(func() {
		if testModel.err = llama.Init(libDir); testModel.err != nil {
			return
		}
		if testModel.dir, testModel.err = os.MkdirTemp("", "custos-grammar-test-"); testModel.err != nil {
			return
		}
		path := filepath.Join(testModel.dir, "model.gguf")
		if testModel.err = gguf.GenerateFile(path, gguf.GenOptions{Seed: 7}); testModel.err != nil {
			return
		}
		testModel.model, testModel.err = llama.LoadModel(path, llama.ModelParams{UseMmap: true})
	})
	if testModel.err != nil {
		t.Fatal(testModel.err)
	}
	return testModel.model
}

// parse has llama.cpp parse gbnf, failing the test if it refuses.
func parse(t *testing.T, gbnf string) *llama.Grammar {
	t.Helper()
	g, err := llama.ParseGrammar(model(t), gbnf)
	if err != nil {
		t.Fatalf("llama.cpp refuses the grammar: %v\n%s", err, gbnf)
	}
	return g
}

// takes reports whether g takes text whole and may end after it: each token of text must be allowed in
// turn, and then the end of generation.
func takes(t *testing.T, g *llama.Grammar, text string) bool {
	t.Helper()
	m := model(t)
	toks, err := m.Tokenize(text, false, false)
	if err != nil {
		t.Fatal(err)
	}
	var spelled strings.Builder
	for _, tok := range toks {
		spelled.Write(m.TokenPiece(tok))
	}
	if spelled.String() != text {
		t.Fatalf("the model spells %q as %q; the check would not be about the text", text, spelled.String())
	}
	s := g.NewState()
	defer s.Close()
	for _, tok := range toks {
		if s.Accept(tok) != nil {
			return false
		}
	}
	return s.Allows(m.EOS())
}

// convert converts schema, failing the test on an error.
func convert(t *testing.T, schema string) string {
	t.Helper()
	gbnf, err := FromJSONSchema([]byte(schema))
	if err != nil {
		t.Fatalf("FromJSONSchema(%s): %v", schema, err)
	}
	return gbnf
}

// checkDocuments checks that g takes every valid document and refuses every invalid one. The valid ones
// must be JSON, so that a typo in a test cannot pass as a grammar refusing bad JSON.
func checkDocuments(t *testing.T, g *llama.Grammar, gbnf string, valid, invalid []string) {
	t.Helper()
	for _, doc := range valid {
		if !json.Valid([]byte(doc)) {
			t.Errorf("test bug: valid document %s is not JSON", doc)
		}
		if !takes(t, g, doc) {
			t.Errorf("the grammar refuses the valid %s\n%s", doc, gbnf)
		}
	}
	for _, doc := range invalid {
		if takes(t, g, doc) {
			t.Errorf("the grammar takes the invalid %s\n%s", doc, gbnf)
		}
	}
}
