package gguf

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func readBytes(data []byte) (*File, error) {
	return Read(bytes.NewReader(data), int64(len(data)))
}

func TestReadAllValueTypes(t *testing.T) {
	f, err := readBytes(smallValidFile())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"u8": uint8(200), "i8": int8(-1), "u16": uint16(60000), "i16": int16(-2),
		"llama.context_length": uint32(4096), "i32": int32(-3), "f32": float32(1.5), "yes": true,
		"u64": uint64(1 << 40), "i64": int64(-1), "f64": float64(-2.25),
		"general.architecture":  "llama",
		"tokenizer.ggml.tokens": Array{Type: TypeString, Values: []string{"a", "b", "c"}},
		"nested": Array{Type: TypeArray, Values: []Array{
			{Type: TypeInt32, Values: []int32{1, 2}},
			{Type: TypeString, Values: []string{"x"}},
		}},
	}
	for k, v := range want {
		kv, ok := f.Get(k)
		if !ok {
			t.Errorf("key %q missing", k)
			continue
		}
		if !reflect.DeepEqual(kv.Value, v) {
			t.Errorf("%s = %#v, want %#v", k, kv.Value, v)
		}
	}
	if f.Version != 3 || len(f.Metadata) != 16 || f.Alignment != 32 {
		t.Errorf("version %d, %d entries, alignment %d", f.Version, len(f.Metadata), f.Alignment)
	}
	wantTensors := []TensorInfo{
		{Name: "a.weight", Dims: []uint64{4, 2}, Type: TensorF32, Offset: 0},
		{Name: "b.weight", Dims: []uint64{3}, Type: TensorF32, Offset: 32},
	}
	if !reflect.DeepEqual(f.Tensors, wantTensors) {
		t.Errorf("tensors = %+v, want %+v", f.Tensors, wantTensors)
	}
	if f.DataOffset%32 != 0 || f.DataOffset+32+12 != f.Size {
		t.Errorf("data offset %d in a %d-byte file", f.DataOffset, f.Size)
	}
}

func TestReadAcceptsVersion2(t *testing.T) {
	data := smallValidFile()
	data[4] = 2
	f, err := readBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 {
		t.Errorf("version %d", f.Version)
	}
}

// TestReadRejectsHostileFiles: each malformed file gives an ErrFormat error
// naming the problem, not a panic or an allocation the size of its claims.
func TestReadRejectsHostileFiles(t *testing.T) {
	kvFile := func(write func(b *builder)) []byte {
		b := (&builder{}).header(3, 0, 1)
		write(b)
		return b.zeros(16).b // room for the smallest entry, so the content is what fails
	}
	tensorFile := func(write func(b *builder)) []byte {
		b := (&builder{}).header(3, 1, 0)
		write(b)
		return b.padTo(32).zeros(64).b
	}
	nested := func(depth int) []byte {
		b := (&builder{}).header(3, 0, 1).key("deep", TypeArray)
		for range depth {
			b.u32(uint32(TypeArray)).u64(1)
		}
		return b.u32(uint32(TypeUint8)).u64(0).b
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"bad magic", (&builder{}).u32(0x46554746).u32(3).u64(0).u64(0).b, "bad magic"},
		{"version 1", (&builder{}).header(1, 0, 0).b, "v1 is not supported"},
		{"version 4", (&builder{}).header(4, 0, 0).b, "unsupported GGUF version 4"},
		{"big endian", (&builder{}).header(3<<24, 0, 0).b, "big-endian"},
		{"huge tensor count", (&builder{}).header(3, 1<<62, 0).b, "tensor count"},
		{"huge metadata count", (&builder{}).header(3, 0, math.MaxUint64).b, "metadata count"},
		{"huge key length", kvFile(func(b *builder) { b.u64(1 << 60) }), "metadata key is"},
		{"key longer than file", kvFile(func(b *builder) { b.u64(1000).u32(0) }), "truncated"},
		{"empty key", kvFile(func(b *builder) { b.str("").u32(uint32(TypeUint8)).u8(1) }), "empty metadata key"},
		{"unknown value type", kvFile(func(b *builder) { b.key("k", 13).u64(0) }), "unknown value type 13"},
		{"huge string", kvFile(func(b *builder) { b.key("k", TypeString).u64(1 << 62) }), "limit"},
		{"string longer than file", kvFile(func(b *builder) { b.key("k", TypeString).u64(100).u32(0) }), "truncated"},
		{"bool 2", kvFile(func(b *builder) { b.key("k", TypeBool).u8(2) }), "neither 0 nor 1"},
		{"bool array 7", kvFile(func(b *builder) { b.key("k", TypeArray).u32(uint32(TypeBool)).u64(2).u8(0).u8(7) }), "neither 0 nor 1"},
		{"huge array", kvFile(func(b *builder) { b.key("k", TypeArray).u32(uint32(TypeUint64)).u64(1 << 61) }), "more than the remaining"},
		{"huge string array", kvFile(func(b *builder) { b.key("k", TypeArray).u32(uint32(TypeString)).u64(1 << 40).u64(0) }), "more than the remaining"},
		{"unknown element type", kvFile(func(b *builder) { b.key("k", TypeArray).u32(99).u64(0) }), "unknown array element type"},
		{"nesting too deep", nested(maxArrayDepth + 1), "nested deeper"},
		{"duplicate key", (&builder{}).header(3, 0, 2).key("k", TypeUint8).u8(1).key("k", TypeUint8).u8(2).b, "duplicate metadata key"},
		{"alignment not uint32", kvFile(func(b *builder) { b.key("general.alignment", TypeUint64).u64(32) }), "must be uint32"},
		{"alignment zero", kvFile(func(b *builder) { b.key("general.alignment", TypeUint32).u32(0) }), "power of two"},
		{"alignment 48", kvFile(func(b *builder) { b.key("general.alignment", TypeUint32).u32(48) }), "power of two"},
		{"tensor name too long", tensorFile(func(b *builder) { b.tensor(strings.Repeat("n", 64), TensorF32, 0, 1) }), "tensor name"},
		{"five dimensions", tensorFile(func(b *builder) { b.tensor("t", TensorF32, 0, 1, 1, 1, 1, 1) }), "5 dimensions"},
		{"negative dimension", tensorFile(func(b *builder) { b.tensor("t", TensorF32, 0, 1<<63) }), "negative"},
		{"element overflow", tensorFile(func(b *builder) { b.tensor("t", TensorF32, 0, 1<<32, 1<<32) }), "overflows"},
		{"byte size overflow", tensorFile(func(b *builder) { b.tensor("t", TensorF32, 0, 1<<62) }), "byte size overflows"},
		{"unknown tensor type", tensorFile(func(b *builder) { b.tensor("t", 31, 0, 1) }), "unknown type 31"},
		{"row not a whole block", tensorFile(func(b *builder) { b.tensor("t", 2, 0, 33) }), "block size"},
		{"data past end", tensorFile(func(b *builder) { b.tensor("t", TensorF32, 0, 17) }), "past the end"},
		{"offset past end", tensorFile(func(b *builder) { b.tensor("t", TensorF32, 1<<62, 1) }), "past the end"},
		{"misaligned offset", tensorFile(func(b *builder) { b.tensor("t", TensorF32, 4, 1) }), "alignment"},
		{"duplicate tensor", (&builder{}).header(3, 2, 0).tensor("t", TensorF32, 0, 1).tensor("t", TensorF32, 32, 1).padTo(32).zeros(64).b, "duplicate tensor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readBytes(c.data)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want an ErrFormat error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to mention %q", err, c.want)
			}
		})
	}
}

// TestReadTruncatedModelAtEveryOffset cuts a generated model at every offset
// of its header and at a spread of offsets through its tensor data: every cut
// must be an error, never a panic.
func TestReadTruncatedModelAtEveryOffset(t *testing.T) {
	var buf bytes.Buffer
	if err := Generate(&buf, GenOptions{Dim: 8, Heads: 2, Layers: 1, FFN: 16}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	whole, err := readBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	var cuts []int
	for n := 0; n <= int(whole.DataOffset); n++ {
		cuts = append(cuts, n)
	}
	for n := int(whole.DataOffset) + 1; n < len(data); n += 97 {
		cuts = append(cuts, n)
	}
	cuts = append(cuts, len(data)-1)
	for _, n := range cuts {
		if _, err := readBytes(data[:n]); !errors.Is(err, ErrFormat) {
			t.Fatalf("cut at %d of %d: err = %v, want an ErrFormat error", n, len(data), err)
		}
	}
}

// TestReadLyingSizeIsTruncation: a reader that ends before the size it was
// promised gives a truncation error, not a short read taken as data.
func TestReadLyingSizeIsTruncation(t *testing.T) {
	data := smallValidFile()
	_, err := Read(bytes.NewReader(data[:40]), int64(len(data)))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("err = %v, want a truncation error", err)
	}
}

// TestReadHugeClaimsAllocateLittle: counts and lengths claiming terabytes in
// a small file are refused before anything that size is allocated.
func TestReadHugeClaimsAllocateLittle(t *testing.T) {
	files := [][]byte{
		(&builder{}).header(3, 0, 1).key("k", TypeArray).u32(uint32(TypeUint8)).u64(1 << 40).zeros(4096).b,
		(&builder{}).header(3, 0, 1).key("k", TypeString).u64(1 << 40).zeros(4096).b,
		(&builder{}).header(3, 1<<40, 1<<40).zeros(4096).b,
	}
	for i, data := range files {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Read(bytes.NewReader(data), 1<<50)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("file %d: no error", i)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("file %d: allocated %d bytes", i, grew)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "missing.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v", err)
	}
	bad := filepath.Join(dir, "bad.gguf")
	if err := os.WriteFile(bad, []byte("GGUF\x03\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(bad); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), bad) {
		t.Errorf("truncated file: err = %v, want ErrFormat naming the path", err)
	}
}

func TestReadNestingAtLimit(t *testing.T) {
	b := (&builder{}).header(3, 0, 1).key("deep", TypeArray)
	for range maxArrayDepth - 1 {
		b.u32(uint32(TypeArray)).u64(1)
	}
	b.u32(uint32(TypeUint16)).u64(2).u16(1).u16(2)
	f, err := readBytes(b.b)
	if err != nil {
		t.Fatal(err)
	}
	kv, _ := f.Get("deep")
	a := kv.Value.(Array)
	for range maxArrayDepth - 1 {
		a = a.Values.([]Array)[0]
	}
	if !reflect.DeepEqual(a.Values, []uint16{1, 2}) {
		t.Errorf("innermost array %#v", a.Values)
	}
}

// failingReader yields its data, then err instead of EOF.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReadReportsIOError: a failing disk is reported as such, not as a
// malformed file.
func TestReadReportsIOError(t *testing.T) {
	data := smallValidFile()
	ioErr := errors.New("disk on fire")
	_, err := Read(&failingReader{data: data[:50], err: ioErr}, int64(len(data)))
	if !errors.Is(err, ioErr) || errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want the I/O error and not ErrFormat", err)
	}
}
