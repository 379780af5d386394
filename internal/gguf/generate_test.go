package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func generate(t *testing.T, o GenOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(&buf, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerateIsDeterministic(t *testing.T) {
	o := GenOptions{Seed: 7}
	a, b := generate(t, o), generate(t, o)
	if !bytes.Equal(a, b) {
		t.Fatal("same options gave different bytes")
	}
	if c := generate(t, GenOptions{Seed: 8}); bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same bytes")
	}
}

// TestGenerateLlamaLayout checks the file against what llama.cpp v0.5.0's
// llama architecture loads: the metadata keys and types it reads, and
// exactly the tensors it creates, with their shapes.
func TestGenerateLlamaLayout(t *testing.T) {
	o := GenOptions{Dim: 32, Layers: 3, Heads: 4, KVHeads: 2, FFN: 48, ContextLength: 512, Name: "layout"}
	f, err := readBytes(generate(t, o))
	if err != nil {
		t.Fatal(err)
	}
	vocabN := uint32(len(newVocab(chatMLTemplate).tokens))
	wantMeta := map[string]any{
		"general.architecture":                   "llama",
		"general.name":                           "layout",
		"general.alignment":                      uint32(32),
		"llama.vocab_size":                       vocabN,
		"llama.context_length":                   uint32(512),
		"llama.embedding_length":                 uint32(32),
		"llama.block_count":                      uint32(3),
		"llama.feed_forward_length":              uint32(48),
		"llama.attention.head_count":             uint32(4),
		"llama.attention.head_count_kv":          uint32(2),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"llama.rope.dimension_count":             uint32(8),
		"tokenizer.ggml.model":                   "llama",
		"tokenizer.ggml.bos_token_id":            uint32(1),
		"tokenizer.ggml.eos_token_id":            uint32(2),
		"tokenizer.ggml.unknown_token_id":        uint32(0),
		"tokenizer.ggml.add_bos_token":           true,
	}
	for k, v := range wantMeta {
		kv, ok := f.Get(k)
		if !ok || !reflect.DeepEqual(kv.Value, v) {
			t.Errorf("%s = %#v (present %v), want %#v", k, kv.Value, ok, v)
		}
	}
	for _, k := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"} {
		kv, _ := f.Get(k)
		if a, ok := kv.Value.(Array); !ok || a.Len() != int(vocabN) {
			t.Errorf("%s: %#v, want an array of %d", k, kv.Value, vocabN)
		}
	}
	if tmpl, _ := f.String("tokenizer.chat_template"); !strings.Contains(tmpl, "<|im_start|>") {
		t.Errorf("chat template %q lacks ChatML's <|im_start|>", tmpl)
	}

	n := uint64(vocabN)
	want := map[string][]uint64{
		"token_embd.weight":  {32, n},
		"output_norm.weight": {32},
		"output.weight":      {32, n},
	}
	for i := range 3 {
		for name, dims := range map[string][]uint64{
			"attn_norm": {32}, "attn_q": {32, 32}, "attn_k": {32, 16}, "attn_v": {32, 16},
			"attn_output": {32, 32}, "ffn_norm": {32}, "ffn_gate": {32, 48}, "ffn_up": {32, 48},
			"ffn_down": {48, 32},
		} {
			want[fmt.Sprintf("blk.%d.%s.weight", i, name)] = dims
		}
	}
	got := map[string][]uint64{}
	end := uint64(0)
	for _, ti := range f.Tensors {
		got[ti.Name] = ti.Dims
		if ti.Type != TensorF32 {
			t.Errorf("%s has type %s, want F32", ti.Name, ti.Type)
		}
		if ti.Offset != end {
			t.Errorf("%s at offset %d, want %d (tensors packed in order)", ti.Name, ti.Offset, end)
		}
		end += uint64(alignUp(int64(ti.Bytes()), 32))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tensors:\n got %v\nwant %v", got, want)
	}
	if f.DataOffset+int64(end) != f.Size {
		t.Errorf("data ends at %d, file is %d bytes", f.DataOffset+int64(end), f.Size)
	}
}

// tensorValues decodes an F32 tensor of a generated file.
func tensorValues(t *testing.T, data []byte, f *File, name string) []float32 {
	t.Helper()
	for _, ti := range f.Tensors {
		if ti.Name == name {
			raw := data[f.DataOffset+int64(ti.Offset):][:ti.Bytes()]
			out := make([]float32, ti.Elements())
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
			return out
		}
	}
	t.Fatalf("no tensor %q", name)
	return nil
}

// TestGenerateWeightScale: weights are finite with the intended spread, and
// control tokens have zero output rows, so a random model seldom ends a turn.
func TestGenerateWeightScale(t *testing.T) {
	data := generate(t, GenOptions{Seed: 3})
	f, err := readBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range f.Tensors {
		for i, v := range tensorValues(t, data, f, ti.Name) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s[%d] = %v", ti.Name, i, v)
			}
		}
	}
	std := func(vs []float32) float64 {
		var s float64
		for _, v := range vs {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s / float64(len(vs)))
	}
	if s := std(tensorValues(t, data, f, "blk.0.attn_q.weight")); math.Abs(s-1/math.Sqrt(64)) > 0.02 {
		t.Errorf("attn_q std %.3f, want about %.3f", s, 1/math.Sqrt(64))
	}
	v := newVocab(chatMLTemplate)
	out := tensorValues(t, data, f, "output.weight")
	for tok, typ := range v.types {
		row := out[tok*64 : (tok+1)*64]
		zero := std(row) == 0
		if control := typ == tokenControl || typ == tokenUnknown; control != zero {
			t.Errorf("token %d (%q, type %d): output row all zero = %v", tok, v.tokens[tok], typ, zero)
		}
	}
}

func TestGenerateRejectsBadShapes(t *testing.T) {
	for _, o := range []GenOptions{
		{Dim: -1},
		{Dim: maxGenDim + 2},
		{Layers: -3},
		{Layers: maxGenLayers + 1},
		{Dim: 64, Heads: 5},   // 64 does not split into 5 heads
		{Dim: 12, Heads: 4},   // heads of width 3 are odd; rope needs even
		{Dim: 64, Heads: 128}, // more heads than width
		{Heads: 4, KVHeads: 3},
		{Heads: 4, KVHeads: 8},
		{FFN: -1},
		{ContextLength: -5},
	} {
		if err := Generate(&bytes.Buffer{}, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestGenerateFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := GenerateFile(path, GenOptions{Layers: 1}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Info().BlockCount != 1 {
		t.Errorf("block count %d", f.Info().BlockCount)
	}
	// A failed generation leaves the previous file whole and no temporary.
	if err := GenerateFile(path, GenOptions{Dim: -1}); err == nil {
		t.Fatal("bad options: no error")
	}
	if _, err := ReadFile(path); err != nil {
		t.Errorf("previous model damaged: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 { // checked before the folder test below adds "new"
		t.Errorf("folder holds %d entries, want only the model", len(entries))
	}
	if err := GenerateFile(filepath.Join(dir, "new", "folder", "m.gguf"), GenOptions{}); err != nil {
		t.Errorf("a missing folder is created: %v", err)
	}
	if err := GenerateFile(filepath.Join(path, "m.gguf"), GenOptions{}); err == nil {
		t.Error("a file in place of the folder: no error")
	}
}

func TestVocabIsByteComplete(t *testing.T) {
	v := newVocab(chatMLTemplate)
	seen := map[string]bool{}
	for i, tok := range v.tokens {
		if seen[tok] {
			t.Fatalf("duplicate piece %q: llama.cpp aborts on duplicates", tok)
		}
		seen[tok] = true
		if tok == "" {
			t.Errorf("token %d is empty", i)
		}
	}
	for b := range 256 {
		id := 3 + b
		if want := fmt.Sprintf("<0x%02X>", b); v.tokens[id] != want || v.types[id] != tokenByte {
			t.Errorf("token %d = %q type %d, want byte token %q", id, v.tokens[id], v.types[id], want)
		}
	}
	for _, tok := range []string{"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", spaceMark, spaceMark + "hello", "a"} {
		if !seen[tok] {
			t.Errorf("vocabulary lacks %q", tok)
		}
	}
	if v.tokens[unkID] != "<unk>" || v.tokens[bosID] != "<s>" || v.tokens[eosID] != "</s>" {
		t.Errorf("special ids: %q %q %q", v.tokens[unkID], v.tokens[bosID], v.tokens[eosID])
	}
	// Every prefix of a spaced word is a piece, so pairwise merges reach it.
	for _, w := range vocabWords {
		for n := 1; n <= len(w); n++ {
			if !seen[spaceMark+w[:n]] {
				t.Errorf("missing prefix %q of %q", spaceMark+w[:n], w)
			}
		}
	}
}

type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errors.New("disk full")
	}
	w.left -= len(p)
	return len(p), nil
}

func TestGenerateReportsWriteError(t *testing.T) {
	for _, left := range []int{0, 100, 20000, 200000} {
		if err := Generate(&failingWriter{left: left}, GenOptions{}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("failing after %d bytes: err = %v", left, err)
		}
	}
}

func TestVocabHasTheTemplatesMarkers(t *testing.T) {
	tmpl := "{{ '<|start_header_id|>' }}{{ '<tool_call>' }}{{ '[TOOL_CALLS]' }}"
	v := newVocab(tmpl)
	types := map[string]int32{}
	for i, tok := range v.tokens {
		types[tok] = v.types[i]
	}
	for tok, want := range map[string]int32{"<|start_header_id|>": tokenControl, "<tool_call>": tokenUserDefined,
		"[TOOL_CALLS]": tokenUserDefined, "<|im_start|>": tokenControl} {
		if got, ok := types[tok]; !ok || got != want {
			t.Errorf("token %q: type %d (present %v), want %d", tok, got, ok, want)
		}
	}
	if _, ok := types["[INST]"]; ok {
		t.Error("a marker the template does not use is in the vocabulary")
	}
	if len(newVocab(chatMLTemplate).tokens) != len(newVocab("").tokens) {
		t.Error("the ChatML vocabulary has markers beyond ChatML's")
	}
}

func TestControlToolMarkersAreControlTokens(t *testing.T) {
	v := newVocab("{{ '<tool_call>' }}{{ '[TOOL_CALLS]' }}{{ '<|start_header_id|>' }}")
	v.controlToolMarkers()
	for i, tok := range v.tokens {
		switch tok {
		case "<tool_call>", "[TOOL_CALLS]", "<|start_header_id|>":
			if v.types[i] != tokenControl {
				t.Errorf("token %q: type %d, want control", tok, v.types[i])
			}
		}
	}
}
