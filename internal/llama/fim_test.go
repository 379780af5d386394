package llama

import (
	"testing"

	"custos/internal/gguf"
)

// fimModelOptions is a generated model with fill-in-the-middle tokens; its seed differs from the other
// generated models', whose file names say only dim, layers and seed.
var fimModelOptions = gguf.GenOptions{Seed: 71, FIMTokens: true}

func TestFIMTokensOfAModelWithThem(t *testing.T) {
	m := loadModel(t, fimModelOptions)
	fim := m.FIMTokens()
	for name, tok := range map[string]Token{"prefix": fim.Prefix, "suffix": fim.Suffix, "middle": fim.Middle} {
		if tok == TokenNull || int(tok) >= m.NVocab() {
			t.Fatalf("FIM %s token %d, want one of the vocabulary's %d", name, tok, m.NVocab())
		}
	}
	if fim.Prefix == fim.Suffix || fim.Suffix == fim.Middle || fim.Prefix == fim.Middle {
		t.Fatalf("FIM tokens not distinct: %+v", fim)
	}
	if fim.Repo != TokenNull || fim.Sep != TokenNull {
		t.Fatalf("repo/sep tokens %d/%d, want none (the generator adds only prefix, suffix, middle)", fim.Repo, fim.Sep)
	}
	got, err := m.Tokenize("<|fim_prefix|>", false, true)
	if err != nil || len(got) != 1 || got[0] != fim.Prefix {
		t.Fatalf("the text <|fim_prefix|> tokenizes to %v (%v), want the prefix token %d", got, err, fim.Prefix)
	}
	if !m.AddBOS() {
		t.Fatal("AddBOS false; the generated vocabulary asks for BOS")
	}
}

func TestFIMTokensOfAModelWithout(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	if fim := m.FIMTokens(); fim != (FIMTokens{TokenNull, TokenNull, TokenNull, TokenNull, TokenNull}) {
		t.Fatalf("FIM tokens %+v of a model without any", fim)
	}
}
