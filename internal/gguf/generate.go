package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// GenOptions shapes a generated model. Zero fields take their defaults.
type GenOptions struct {
	// Dim is the embedding width (default 64).
	Dim int
	// Layers is the number of transformer blocks (default 2).
	Layers int
	// Heads is the number of attention heads; it must divide Dim into an
	// even head width (default 4).
	Heads int
	// KVHeads is the number of key/value heads; it must divide Heads
	// (default Heads, plain multi-head attention).
	KVHeads int
	// FFN is the feed-forward width (default 4*Dim).
	FFN int
	// ContextLength is the trained context length written to the metadata
	// (default 2048).
	ContextLength int
	// Seed selects the weights: the same options give identical bytes.
	// Zero is a seed like any other.
	Seed uint64
	// Name is general.name (default "custos-tiny").
	Name string
	// ChatTemplate is tokenizer.chat_template, a Jinja template (default ChatML). The vocabulary gets a
	// token for each marker of the common families (see chatMarkers) that it uses.
	ChatTemplate string

	// Special-purpose variants (fim.go, rerank.go).

	// FIMTokens adds fill-in-the-middle tokens (<|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>) at the end
	// of the vocabulary, named in the tokenizer.ggml.fim_*_token_id metadata, so that /infill can serve it.
	FIMTokens bool
	// Reranker makes the model a reranker as llama.cpp runs one: rank pooling and non-causal attention.
	Reranker bool
	// ControlToolMarkers makes the tool-call markers control tokens, as real Mistral vocabularies have
	// [TOOL_CALLS]: generated text leaves them out unless the server keeps them.
	ControlToolMarkers bool
}

// Bounds on generated shapes: far above what a test needs, low enough that a
// typo cannot fill the disk.
const (
	maxGenDim     = 2048
	maxGenLayers  = 64
	maxGenFFN     = 8192
	maxGenContext = 1 << 20
)

// withDefaults fills the zero fields in one place.
func (o GenOptions) withDefaults() GenOptions {
	if o.Dim == 0 {
		o.Dim = 64
	}
	if o.Layers == 0 {
		o.Layers = 2
	}
	if o.Heads == 0 {
		o.Heads = 4
	}
	if o.KVHeads == 0 {
		o.KVHeads = o.Heads
	}
	if o.FFN == 0 {
		o.FFN = 4 * o.Dim
	}
	if o.ContextLength == 0 {
		o.ContextLength = 2048
	}
	if o.Name == "" {
		o.Name = "custos-tiny"
	}
	if o.ChatTemplate == "" {
		o.ChatTemplate = chatMLTemplate
	}
	return o
}

// validate checks a defaulted GenOptions against what llama.cpp's llama
// architecture accepts: the rope dimension equals the head width, which rope
// needs even, and grouped-query attention needs Heads to be a multiple of
// KVHeads.
func (o GenOptions) validate() error {
	switch {
	case o.Dim < 0 || o.Dim > maxGenDim:
		return fmt.Errorf("dim %d out of range 1..%d", o.Dim, maxGenDim)
	case o.Layers < 0 || o.Layers > maxGenLayers:
		return fmt.Errorf("layers %d out of range 1..%d", o.Layers, maxGenLayers)
	case o.Heads < 0 || o.Heads > o.Dim:
		return fmt.Errorf("heads %d out of range 1..%d (dim)", o.Heads, o.Dim)
	case o.Dim%o.Heads != 0 || (o.Dim/o.Heads)%2 != 0:
		return fmt.Errorf("dim %d must split into %d heads of even width", o.Dim, o.Heads)
	case o.KVHeads < 0 || o.KVHeads > o.Heads || o.Heads%o.KVHeads != 0:
		return fmt.Errorf("kv heads %d must divide heads %d", o.KVHeads, o.Heads)
	case o.FFN < 0 || o.FFN > maxGenFFN:
		return fmt.Errorf("ffn %d out of range 1..%d", o.FFN, maxGenFFN)
	case o.ContextLength < 0 || o.ContextLength > maxGenContext:
		return fmt.Errorf("context length %d out of range 1..%d", o.ContextLength, maxGenContext)
	}
	return nil
}

// genTensor is one tensor to write: its shape (innermost first) and how to
// fill it.
type genTensor struct {
	name string
	dims []uint64
	fill func(rng *splitmix64, out []float32)
}

func (t genTensor) elements() uint64 {
	n := uint64(1)
	for _, d := range t.dims {
		n *= d
	}
	return n
}

// Generate writes a small llama-architecture GGUF v3 model to w: seeded
// random F32 weights, a byte-level SentencePiece-style vocabulary and a ChatML
// chat template. The tensors and metadata are the ones llama.cpp v0.5.0's
// llama architecture loads; the same options always give the same bytes.
func Generate(w io.Writer, o GenOptions) error {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return fmt.Errorf("gguf: generate: %w", err)
	}
	v := newVocab(o.ChatTemplate)
	if o.ControlToolMarkers {
		v.controlToolMarkers()
	}
	if o.FIMTokens {
		v.addFIMTokens()
	}
	if err := writeFile(w, modelMetadata(o, v), modelTensors(o, v), o.Seed); err != nil {
		return fmt.Errorf("gguf: generate: %w", err)
	}
	return nil
}

// writeFile writes a GGUF v3 file of the metadata kvs and the F32 tensors, filled in order from one
// generator seeded with seed.
func writeFile(w io.Writer, kvs []KV, tensors []genTensor, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	e := &encoder{w: bw}
	e.header(len(tensors), kvs)
	offset := uint64(0)
	for _, t := range tensors {
		e.tensorInfo(t.name, t.dims, TensorF32, offset)
		offset += uint64(alignUp(int64(t.elements()*4), defaultAlignment))
	}
	e.pad(defaultAlignment)
	rng := newSplitmix64(seed)
	for _, t := range tensors {
		if e.err != nil {
			break
		}
		e.tensorData(rng, t)
		e.pad(defaultAlignment)
	}
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

// GenerateFile writes a generated model to path atomically: into a temporary
// file in the same folder, synced, then renamed over path, so a reader never
// sees a partial model.
func GenerateFile(path string, o GenOptions) error {
	return writeAtomically(path, func(w io.Writer) error { return Generate(w, o) })
}

// writeAtomically writes a file through write into a temporary file in path's folder, synced, then
// renamed over path.
func writeAtomically(path string, write func(io.Writer) error) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// modelMetadata lists the keys llama.cpp reads for a llama model and its
// SentencePiece vocabulary.
func modelMetadata(o GenOptions, v vocab) []KV {
	headDim := o.Dim / o.Heads
	u32 := func(k string, n int) KV { return KV{Key: k, Type: TypeUint32, Value: uint32(n)} }
	kvs := []KV{
		{Key: "general.architecture", Type: TypeString, Value: "llama"},
		{Key: "general.name", Type: TypeString, Value: o.Name},
		u32("general.alignment", defaultAlignment),
		u32("general.file_type", 0), // LLAMA_FTYPE_ALL_F32
		u32("llama.vocab_size", len(v.tokens)),
		u32("llama.context_length", o.ContextLength),
		u32("llama.embedding_length", o.Dim),
		u32("llama.block_count", o.Layers),
		u32("llama.feed_forward_length", o.FFN),
		u32("llama.attention.head_count", o.Heads),
		u32("llama.attention.head_count_kv", o.KVHeads),
		{Key: "llama.attention.layer_norm_rms_epsilon", Type: TypeFloat32, Value: float32(1e-5)},
		u32("llama.rope.dimension_count", headDim),
		{Key: "llama.rope.freq_base", Type: TypeFloat32, Value: float32(10000)},
		{Key: "tokenizer.ggml.model", Type: TypeString, Value: "llama"},
		{Key: "tokenizer.ggml.tokens", Type: TypeArray, Value: Array{Type: TypeString, Values: v.tokens}},
		{Key: "tokenizer.ggml.scores", Type: TypeArray, Value: Array{Type: TypeFloat32, Values: v.scores}},
		{Key: "tokenizer.ggml.token_type", Type: TypeArray, Value: Array{Type: TypeInt32, Values: v.types}},
		u32("tokenizer.ggml.bos_token_id", bosID),
		u32("tokenizer.ggml.eos_token_id", eosID),
		u32("tokenizer.ggml.unknown_token_id", unkID),
		{Key: "tokenizer.ggml.add_bos_token", Type: TypeBool, Value: true},
		{Key: "tokenizer.ggml.add_eos_token", Type: TypeBool, Value: false},
		// Without a space prepended to each text fragment, tokenize followed
		// by detokenize gives back the exact text.
		{Key: "tokenizer.ggml.add_space_prefix", Type: TypeBool, Value: false},
		{Key: "tokenizer.chat_template", Type: TypeString, Value: o.ChatTemplate},
	}
	kvs = append(kvs, fimMetadata(o, v)...)
	kvs = append(kvs, rerankMetadata(o)...)
	return kvs
}

// modelTensors lists the tensors of llama.cpp's llama architecture in file
// order, with shapes as ggml extents (input width first). llama.cpp refuses a
// file with tensors it did not ask for, so there are no optional extras.
//
// Weights are scaled so activations keep a unit scale through each
// projection (standard deviation 1/sqrt(fan-in)), and the output projection
// spreads logits to a standard deviation of about 2, which makes sampling
// varied without being uniform. The output rows of control (and user-defined marker) tokens are zero,
// so their logit stays 0 while ordinary pieces reach several units above it:
// a random model rarely ends or opens a turn by itself. Byte tokens get half
// the scale, so printable pieces dominate the generated text.
func modelTensors(o GenOptions, v vocab) []genTensor {
	dim, nv, ff := uint64(o.Dim), uint64(len(v.tokens)), uint64(o.FFN)
	kvDim := dim / uint64(o.Heads) * uint64(o.KVHeads)
	proj := func(in uint64) func(*splitmix64, []float32) {
		return uniform(float32(1 / math.Sqrt(float64(in))))
	}
	norm := func(rng *splitmix64, out []float32) {
		for i := range out {
			out[i] = 1 + 0.1*rng.symmetric()
		}
	}
	ts := []genTensor{
		{"token_embd.weight", []uint64{dim, nv}, uniform(1)},
		{"output_norm.weight", []uint64{dim}, norm},
		{"output.weight", []uint64{dim, nv}, outputRows(o.Dim, v.types)},
	}
	for i := range o.Layers {
		blk := func(s string) string { return fmt.Sprintf("blk.%d.%s.weight", i, s) }
		ts = append(ts,
			genTensor{blk("attn_norm"), []uint64{dim}, norm},
			genTensor{blk("attn_q"), []uint64{dim, dim}, proj(dim)},
			genTensor{blk("attn_k"), []uint64{dim, kvDim}, proj(dim)},
			genTensor{blk("attn_v"), []uint64{dim, kvDim}, proj(dim)},
			genTensor{blk("attn_output"), []uint64{dim, dim}, proj(dim)},
			genTensor{blk("ffn_norm"), []uint64{dim}, norm},
			genTensor{blk("ffn_gate"), []uint64{dim, ff}, proj(dim)},
			genTensor{blk("ffn_up"), []uint64{dim, ff}, proj(dim)},
			genTensor{blk("ffn_down"), []uint64{ff, dim}, proj(ff)},
		)
	}
	return ts
}

// uniform fills with values of standard deviation std (uniform on
// [-std*sqrt(3), std*sqrt(3)]).
func uniform(std float32) func(*splitmix64, []float32) {
	a := std * float32(math.Sqrt(3))
	return func(rng *splitmix64, out []float32) {
		for i := range out {
			out[i] = a * rng.symmetric()
		}
	}
}

// outputRows fills the output projection row by row (one row of dim values
// per token), scaled by the token's type as modelTensors explains.
func outputRows(dim int, types []int32) func(*splitmix64, []float32) {
	base := 2 / float32(math.Sqrt(float64(dim)))
	return func(rng *splitmix64, out []float32) {
		for i := range out {
			scale := base
			switch types[i/dim] {
			case tokenControl, tokenUserDefined, tokenUnknown:
				scale = 0
			case tokenByte:
				scale = base / 2
			}
			out[i] = scale * float32(math.Sqrt(3)) * rng.symmetric()
		}
	}
}

// splitmix64 is a small deterministic generator (Steele, Lea and Flood's
// SplitMix64), so a seed gives the same weights on every platform and Go
// version, which math/rand does not promise.
type splitmix64 struct{ state uint64 }

func newSplitmix64(seed uint64) *splitmix64 { return &splitmix64{state: seed} }

func (s *splitmix64) next() uint64 {
	s.state += 0x9E3779B97F4A7C15
	z := s.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// symmetric returns a uniform float32 in [-1, 1).
func (s *splitmix64) symmetric() float32 {
	return float32(s.next()>>40)/(1<<23) - 1
}

// encoder writes GGUF fields, keeping the first error so the caller checks
// once at the end.
type encoder struct {
	w   *bufio.Writer
	n   int64
	err error
	buf []byte
}

func (e *encoder) write(p []byte) {
	if e.err != nil {
		return
	}
	var n int
	n, e.err = e.w.Write(p)
	e.n += int64(n)
}

func (e *encoder) u32(v uint32) { e.write(binary.LittleEndian.AppendUint32(e.buf[:0], v)) }
func (e *encoder) u64(v uint64) { e.write(binary.LittleEndian.AppendUint64(e.buf[:0], v)) }

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.write([]byte(s))
}

func (e *encoder) header(nTensors int, kvs []KV) {
	e.buf = make([]byte, 0, 8)
	e.u32(magic)
	e.u32(3)
	e.u64(uint64(nTensors))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		e.u32(uint32(kv.Type))
		e.value(kv.Type, kv.Value)
	}
}

// value writes the value kinds the generator uses.
func (e *encoder) value(t ValueType, v any) {
	switch x := v.(type) {
	case uint32:
		e.u32(x)
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		e.write([]byte{b})
	case string:
		e.str(x)
	case Array:
		e.u32(uint32(x.Type))
		e.u64(uint64(x.Len()))
		switch vals := x.Values.(type) {
		case []string:
			for _, s := range vals {
				e.str(s)
			}
		case []float32:
			for _, f := range vals {
				e.u32(math.Float32bits(f))
			}
		case []int32:
			for _, n := range vals {
				e.u32(uint32(n))
			}
		default:
			e.fail(fmt.Errorf("cannot encode %s array of %T", x.Type, x.Values))
		}
	default:
		e.fail(fmt.Errorf("cannot encode %s value %T", t, v))
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) tensorInfo(name string, dims []uint64, t TensorType, offset uint64) {
	e.str(name)
	e.u32(uint32(len(dims)))
	for _, d := range dims {
		e.u64(d)
	}
	e.u32(uint32(t))
	e.u64(offset)
}

func (e *encoder) pad(align int64) {
	if n := alignUp(e.n, align) - e.n; n > 0 {
		e.write(make([]byte, n))
	}
}

// tensorData fills and writes one tensor. A tensor is at most
// maxGenDim*maxGenFFN values (64 MiB), so it is built whole.
func (e *encoder) tensorData(rng *splitmix64, t genTensor) {
	vals := make([]float32, t.elements())
	t.fill(rng, vals)
	raw := make([]byte, 0, 4*len(vals))
	for _, f := range vals {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
	}
	e.write(raw)
}
