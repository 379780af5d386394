package gguf

import (
	"strings"
	"testing"
)

func TestInfoOfGeneratedModel(t *testing.T) {
	o := GenOptions{Dim: 32, Layers: 2, Heads: 4, KVHeads: 2, FFN: 40, ContextLength: 1024, Name: "info"}
	data := generate(t, o)
	f, err := readBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	in := f.Info()
	vocabN := len(newVocab(chatMLTemplate).tokens)
	// embeddings and output (32 x vocab each), the output norm, and per
	// layer: two norms, q and output (32x32), k and v (32x16), and three
	// feed-forward matrices (32x40).
	wantParams := uint64(2*32*vocabN + 32 + 2*(2*32+2*32*32+2*32*16+3*32*40))
	want := Info{
		Architecture: "llama", Name: "info", ChatTemplate: chatMLTemplate,
		ContextLength: 1024, EmbeddingLength: 32, BlockCount: 2, HeadCount: 4, HeadCountKV: 2,
		FeedForwardLength: 40, VocabSize: vocabN, ParameterCount: wantParams, FileType: "F32",
		Size: int64(len(data)), Version: 3, TensorCount: 3 + 2*9,
	}
	if in != want {
		t.Errorf("info:\n got %+v\nwant %+v", in, want)
	}
}

// TestInfoFallbacks: without llama.vocab_size the vocabulary size comes from
// the token list, without general.file_type the type is guessed from the
// matrices, and a per-layer head count reports its largest value.
func TestInfoFallbacks(t *testing.T) {
	f, err := readBytes(smallValidFile())
	if err != nil {
		t.Fatal(err)
	}
	in := f.Info()
	if in.VocabSize != 3 || in.FileType != "F32 (guessed)" || in.ContextLength != 4096 || in.ParameterCount != 11 {
		t.Errorf("info %+v", in)
	}
	b := (&builder{}).header(3, 0, 2)
	b.key("general.architecture", TypeString).str("openelm")
	b.key("openelm.attention.head_count", TypeArray).u32(uint32(TypeInt32)).u64(3).u32(12).u32(16).u32(20)
	f, err = readBytes(b.b)
	if err != nil {
		t.Fatal(err)
	}
	if in := f.Info(); in.HeadCount != 20 || in.HeadCountKV != 20 || in.FileType != "" {
		t.Errorf("per-layer heads: %+v", in)
	}
}

// TestInfoTextEscapesControlCharacters: a hostile name or template cannot
// send escape sequences to the terminal that prints it.
func TestInfoTextEscapesControlCharacters(t *testing.T) {
	in := Info{Architecture: "llama", Name: "evil\x1b[2J", ChatTemplate: "line one\nline\x07two \xff"}
	var sb strings.Builder
	if err := in.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `evil\x1b[2J`) || !strings.Contains(out, `line\atwo \xff`) {
		t.Errorf("unescaped output:\n%s", out)
	}
	if !strings.Contains(out, "    line one\n") {
		t.Errorf("template lines not kept:\n%s", out)
	}
}
