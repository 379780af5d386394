package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Limits that keep a hostile file from costing more than a real one. Each
// count is also bounded by the bytes left in the file, so these only matter
// for very large files.
const (
	// MaxHeaderBytes bounds the metadata and tensor descriptions. The largest
	// real vocabularies (about 260k tokens with merges) take about 15 MiB.
	MaxHeaderBytes = 64 << 20
	// maxStringLen bounds one string (a chat template, a token).
	maxStringLen = 16 << 20
	// maxKeyLen bounds a metadata key.
	maxKeyLen = 64 << 10
	// maxTensorNameLen mirrors ggml's GGML_MAX_NAME (64, including the NUL).
	maxTensorNameLen = 63
	// maxDims mirrors ggml's GGML_MAX_DIMS.
	maxDims = 4
	// maxArrayDepth bounds nested arrays, so recursion cannot exhaust the stack.
	maxArrayDepth = 8
	// defaultAlignment applies when general.alignment is absent.
	defaultAlignment = 32
)

// magic opens every GGUF file: the bytes "GGUF".
const magic = 0x46554747

// ErrFormat is wrapped by every error about the file's content, as opposed
// to errors reading it.
var ErrFormat = errors.New("not a valid GGUF file")

// ReadFile parses the header of the GGUF file at path.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := Read(bufio.NewReaderSize(fh, 1<<16), st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Read parses a GGUF header from r, the start of a file of size bytes. It
// reads no further than the header; size is used to bound every count and to
// check that the tensor data fits in the file.
func Read(r io.Reader, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative file size %d", size)
	}
	d := &decoder{r: r, limit: min(size, MaxHeaderBytes), size: size}
	return d.file()
}

// decoder reads little-endian GGUF fields, tracking its position so that
// every length can be checked against the bytes remaining before it is
// trusted.
type decoder struct {
	r     io.Reader
	pos   int64
	limit int64 // header bytes that may be read: min(size, MaxHeaderBytes)
	size  int64
	buf   [8]byte
}

// formatErr reports a problem with the file's content at the current offset.
func (d *decoder) formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: at offset %d: %s", ErrFormat, d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) remaining() int64 { return d.limit - d.pos }

// need fails unless n more bytes may be read.
func (d *decoder) need(n int64, what string) error {
	if n <= d.remaining() {
		return nil
	}
	if d.limit < d.size {
		return d.formatErr("%s needs %d bytes, beyond the %d MiB header limit", what, n, MaxHeaderBytes>>20)
	}
	return d.formatErr("%s needs %d bytes but only %d remain: file truncated", what, n, d.remaining())
}

func (d *decoder) read(p []byte, what string) error {
	if err := d.need(int64(len(p)), what); err != nil {
		return err
	}
	n, err := io.ReadFull(d.r, p)
	d.pos += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return d.formatErr("%s: file truncated", what)
	}
	if err != nil {
		return fmt.Errorf("reading %s at offset %d: %w", what, d.pos, err)
	}
	return nil
}

func (d *decoder) u8(what string) (uint8, error) {
	err := d.read(d.buf[:1], what)
	return d.buf[0], err
}

func (d *decoder) u16(what string) (uint16, error) {
	err := d.read(d.buf[:2], what)
	return binary.LittleEndian.Uint16(d.buf[:2]), err
}

func (d *decoder) u32(what string) (uint32, error) {
	err := d.read(d.buf[:4], what)
	return binary.LittleEndian.Uint32(d.buf[:4]), err
}

func (d *decoder) u64(what string) (uint64, error) {
	err := d.read(d.buf[:8], what)
	return binary.LittleEndian.Uint64(d.buf[:8]), err
}

// count reads an element count and refuses one that the remaining bytes
// cannot hold at minSize bytes per element.
func (d *decoder) count(what string, minSize int64) (int, error) {
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if minSize > 0 && n > uint64(d.remaining()/minSize) {
		return 0, d.formatErr("%s is %d, more than the remaining %d bytes can hold", what, n, d.remaining())
	}
	if n > math.MaxInt32 {
		return 0, d.formatErr("%s is %d, too large", what, n)
	}
	return int(n), nil
}

func (d *decoder) str(what string, maxLen int) (string, error) {
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(maxLen) {
		return "", d.formatErr("%s is %d bytes long, more than the limit of %d", what, n, maxLen)
	}
	if err := d.need(int64(n), what); err != nil {
		return "", err
	}
	b := make([]byte, n)
	if err := d.read(b, what); err != nil {
		return "", err
	}
	return string(b), nil
}

func (d *decoder) file() (*File, error) {
	m, err := d.u32("magic")
	if err != nil {
		return nil, err
	}
	if m != magic {
		return nil, d.formatErr("bad magic %#08x, want \"GGUF\"", m)
	}
	version, err := d.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version == 2 || version == 3:
	case version&0xFFFF == 0 && version != 0:
		return nil, d.formatErr("version %#x looks byte-swapped: big-endian GGUF is not supported", version)
	case version == 1:
		return nil, d.formatErr("GGUF v1 is not supported (v2 and v3 are)")
	default:
		return nil, d.formatErr("unsupported GGUF version %d (v2 and v3 are)", version)
	}
	// The smallest tensor description is a 1-byte name (8+1), a dimension
	// count (4), a type (4) and an offset (8); the smallest entry is a 1-byte
	// key (8+1), a type (4) and a 1-byte value.
	nTensors, err := d.count("tensor count", 25)
	if err != nil {
		return nil, err
	}
	nKV, err := d.count("metadata count", 14)
	if err != nil {
		return nil, err
	}
	f := &File{Version: version, Size: d.size, Alignment: defaultAlignment, index: make(map[string]int, nKV)}
	f.Metadata = make([]KV, 0, nKV)
	for range nKV {
		kv, err := d.kv()
		if err != nil {
			return nil, err
		}
		if _, dup := f.index[kv.Key]; dup {
			return nil, d.formatErr("duplicate metadata key %q", kv.Key)
		}
		f.index[kv.Key] = len(f.Metadata)
		f.Metadata = append(f.Metadata, kv)
	}
	if err := f.readAlignment(d); err != nil {
		return nil, err
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	names := make(map[string]bool, nTensors)
	for range nTensors {
		t, err := d.tensorInfo()
		if err != nil {
			return nil, err
		}
		if names[t.Name] {
			return nil, d.formatErr("duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		f.Tensors = append(f.Tensors, t)
	}
	f.DataOffset = alignUp(d.pos, int64(f.Alignment))
	if err := f.checkTensorData(d); err != nil {
		return nil, err
	}
	return f, nil
}

func (d *decoder) kv() (KV, error) {
	key, err := d.str("metadata key", maxKeyLen)
	if err != nil {
		return KV{}, err
	}
	if key == "" {
		return KV{}, d.formatErr("empty metadata key")
	}
	t, err := d.u32("type of " + key)
	if err != nil {
		return KV{}, err
	}
	v, err := d.value(ValueType(t), key, 0)
	if err != nil {
		return KV{}, err
	}
	return KV{Key: key, Type: ValueType(t), Value: v}, nil
}

// value reads one value of type t; depth counts the arrays it is inside.
func (d *decoder) value(t ValueType, key string, depth int) (any, error) {
	switch t {
	case TypeUint8:
		return d.u8(key)
	case TypeInt8:
		v, err := d.u8(key)
		return int8(v), err
	case TypeUint16:
		return d.u16(key)
	case TypeInt16:
		v, err := d.u16(key)
		return int16(v), err
	case TypeUint32:
		return d.u32(key)
	case TypeInt32:
		v, err := d.u32(key)
		return int32(v), err
	case TypeFloat32:
		v, err := d.u32(key)
		return math.Float32frombits(v), err
	case TypeBool:
		v, err := d.u8(key)
		if err == nil && v > 1 {
			return nil, d.formatErr("%s: bool value %d is neither 0 nor 1", key, v)
		}
		return v == 1, err
	case TypeString:
		return d.str(key, maxStringLen)
	case TypeUint64:
		return d.u64(key)
	case TypeInt64:
		v, err := d.u64(key)
		return int64(v), err
	case TypeFloat64:
		v, err := d.u64(key)
		return math.Float64frombits(v), err
	case TypeArray:
		return d.array(key, depth+1)
	}
	return nil, d.formatErr("%s: unknown value type %d", key, uint32(t))
}

func (d *decoder) array(key string, depth int) (Array, error) {
	if depth > maxArrayDepth {
		return Array{}, d.formatErr("%s: arrays nested deeper than %d", key, maxArrayDepth)
	}
	et, err := d.u32("element type of " + key)
	if err != nil {
		return Array{}, err
	}
	t := ValueType(et)
	if t.minEncodedSize() == 0 {
		return Array{}, d.formatErr("%s: unknown array element type %d", key, et)
	}
	n, err := d.count("length of "+key, t.minEncodedSize())
	if err != nil {
		return Array{}, err
	}
	var vals any
	switch t {
	case TypeUint8:
		vals, err = readFixed(d, n, key, func(b []byte) uint8 { return b[0] })
	case TypeInt8:
		vals, err = readFixed(d, n, key, func(b []byte) int8 { return int8(b[0]) })
	case TypeBool:
		vals, err = readBools(d, n, key)
	case TypeUint16:
		vals, err = readFixed(d, n, key, binary.LittleEndian.Uint16)
	case TypeInt16:
		vals, err = readFixed(d, n, key, func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) })
	case TypeUint32:
		vals, err = readFixed(d, n, key, binary.LittleEndian.Uint32)
	case TypeInt32:
		vals, err = readFixed(d, n, key, func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) })
	case TypeFloat32:
		vals, err = readFixed(d, n, key, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
	case TypeUint64:
		vals, err = readFixed(d, n, key, binary.LittleEndian.Uint64)
	case TypeInt64:
		vals, err = readFixed(d, n, key, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
	case TypeFloat64:
		vals, err = readFixed(d, n, key, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
	case TypeString:
		vals, err = readStrings(d, n, key)
	case TypeArray:
		vals, err = readArrays(d, n, key, depth)
	}
	if err != nil {
		return Array{}, err
	}
	return Array{Type: t, Values: vals}, nil
}

// readFixed reads n fixed-size elements; the caller has checked that the
// remaining bytes hold them, so the slice is allocated once.
func readFixed[T any](d *decoder, n int, key string, decode func([]byte) T) ([]T, error) {
	var zero T
	size := int(binaryValueSize(zero))
	out := make([]T, n)
	chunk := make([]byte, min(n*size, 1<<16))
	per := len(chunk) / max(size, 1)
	for i := 0; i < n; i += per {
		m := min(per, n-i)
		if err := d.read(chunk[:m*size], key); err != nil {
			return nil, err
		}
		for j := range m {
			out[i+j] = decode(chunk[j*size : (j+1)*size])
		}
	}
	return out, nil
}

// binaryValueSize is the encoded size of a fixed-size element type.
func binaryValueSize(v any) int {
	switch v.(type) {
	case uint8, int8:
		return 1
	case uint16, int16:
		return 2
	case uint32, int32, float32:
		return 4
	}
	return 8
}

func readBools(d *decoder, n int, key string) ([]bool, error) {
	raw, err := readFixed(d, n, key, func(b []byte) uint8 { return b[0] })
	if err != nil {
		return nil, err
	}
	out := make([]bool, n)
	for i, b := range raw {
		if b > 1 {
			return nil, d.formatErr("%s: bool element %d is %d, neither 0 nor 1", key, i, b)
		}
		out[i] = b == 1
	}
	return out, nil
}

func readStrings(d *decoder, n int, key string) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		s, err := d.str(key, maxStringLen)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func readArrays(d *decoder, n int, key string, depth int) ([]Array, error) {
	out := make([]Array, n)
	for i := range out {
		a, err := d.array(key, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// readAlignment applies general.alignment, which must be a power-of-two uint32
// as llama.cpp requires.
func (f *File) readAlignment(d *decoder) error {
	kv, ok := f.Get("general.alignment")
	if !ok {
		return nil
	}
	a, isU32 := kv.Value.(uint32)
	if !isU32 {
		return d.formatErr("general.alignment must be uint32, not %s", kv.Type)
	}
	if a == 0 || a&(a-1) != 0 {
		return d.formatErr("general.alignment %d is not a power of two", a)
	}
	f.Alignment = uint64(a)
	return nil
}

func (d *decoder) tensorInfo() (TensorInfo, error) {
	name, err := d.str("tensor name", maxKeyLen)
	if err != nil {
		return TensorInfo{}, err
	}
	if len(name) > maxTensorNameLen {
		return TensorInfo{}, d.formatErr("tensor name %.40q... is %d bytes, more than %d", name, len(name), maxTensorNameLen)
	}
	nDims, err := d.u32("dimension count of " + name)
	if err != nil {
		return TensorInfo{}, err
	}
	if nDims > maxDims {
		return TensorInfo{}, d.formatErr("tensor %q has %d dimensions, more than %d", name, nDims, maxDims)
	}
	t := TensorInfo{Name: name, Dims: make([]uint64, nDims)}
	elems := uint64(1)
	for i := range t.Dims {
		n, err := d.u64("dimension of " + name)
		if err != nil {
			return TensorInfo{}, err
		}
		if n > math.MaxInt64 {
			return TensorInfo{}, d.formatErr("tensor %q: dimension %d is negative", name, i)
		}
		if n != 0 && elems > math.MaxInt64/n {
			return TensorInfo{}, d.formatErr("tensor %q: element count overflows", name)
		}
		elems *= n
		t.Dims[i] = n
	}
	typ, err := d.u32("type of " + name)
	if err != nil {
		return TensorInfo{}, err
	}
	t.Type = TensorType(typ)
	ti, known := tensorTypes[t.Type]
	if !known {
		return TensorInfo{}, d.formatErr("tensor %q has unknown type %d", name, typ)
	}
	if len(t.Dims) > 0 && t.Dims[0]%ti.blockSize != 0 {
		return TensorInfo{}, d.formatErr("tensor %q: row of %d elements is not a multiple of the %s block size %d",
			name, t.Dims[0], ti.name, ti.blockSize)
	}
	if elems/ti.blockSize > math.MaxInt64/ti.typeSize {
		return TensorInfo{}, d.formatErr("tensor %q: byte size overflows", name)
	}
	if t.Offset, err = d.u64("data offset of " + name); err != nil {
		return TensorInfo{}, err
	}
	return t, nil
}

// checkTensorData verifies that every tensor is aligned and lies inside the
// file, so a consumer that maps the data cannot read past the end.
func (f *File) checkTensorData(d *decoder) error {
	if f.DataOffset > f.Size && len(f.Tensors) > 0 {
		return d.formatErr("tensor data would start at %d, past the end of the %d-byte file", f.DataOffset, f.Size)
	}
	avail := uint64(max(f.Size-f.DataOffset, 0))
	for _, t := range f.Tensors {
		if t.Offset%f.Alignment != 0 {
			return d.formatErr("tensor %q: data offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > avail || t.Bytes() > avail-t.Offset {
			return d.formatErr("tensor %q: %d bytes at data offset %d reach past the end of the file (%d data bytes): file truncated",
				t.Name, t.Bytes(), t.Offset, avail)
		}
	}
	return nil
}

func alignUp(n, a int64) int64 {
	return (n + a - 1) / a * a
}
