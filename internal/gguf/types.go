// Package gguf reads and writes GGUF, the model file format of llama.cpp.
//
// The reader is meant for files from anywhere: a truncated or hostile file
// gives an error, never a panic, and every count or length read from the file
// is checked against the bytes that remain before anything is allocated. The
// generator writes a small llama-architecture model with seeded random
// weights, so tests and first runs have a real model without downloading one.
package gguf

import "fmt"

// ValueType is the type tag of a metadata value (gguf_type in ggml's gguf.h).
type ValueType uint32

// The metadata value types of GGUF v2 and v3.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{
	TypeUint8: "uint8", TypeInt8: "int8", TypeUint16: "uint16", TypeInt16: "int16",
	TypeUint32: "uint32", TypeInt32: "int32", TypeFloat32: "float32", TypeBool: "bool",
	TypeString: "string", TypeArray: "array", TypeUint64: "uint64", TypeInt64: "int64",
	TypeFloat64: "float64",
}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// fixedSize is the encoded size of a scalar of type t, or 0 for strings,
// arrays and unknown types.
func (t ValueType) fixedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minEncodedSize is the fewest bytes one value of type t can take in a file.
// The reader multiplies it by an element count before allocating, so a count
// larger than the rest of the file can hold is refused up front.
func (t ValueType) minEncodedSize() int64 {
	switch t {
	case TypeString:
		return 8 // the length prefix of an empty string
	case TypeArray:
		return 12 // element type and count of an empty array
	}
	return int64(t.fixedSize())
}

// KV is one metadata entry. Value holds the Go value for its Type: uint8,
// int8, uint16, int16, uint32, int32, float32, bool, string, uint64, int64,
// float64, or Array.
type KV struct {
	Key   string
	Type  ValueType
	Value any
}

// Array is an array value. Values is a slice of the element type's Go type
// ([]uint8, []int32, []string, ...), or []Array when arrays are nested.
type Array struct {
	Type   ValueType
	Values any
}

// Len is the number of elements in the array.
func (a Array) Len() int {
	switch v := a.Values.(type) {
	case []uint8:
		return len(v)
	case []int8:
		return len(v)
	case []uint16:
		return len(v)
	case []int16:
		return len(v)
	case []uint32:
		return len(v)
	case []int32:
		return len(v)
	case []float32:
		return len(v)
	case []bool:
		return len(v)
	case []string:
		return len(v)
	case []uint64:
		return len(v)
	case []int64:
		return len(v)
	case []float64:
		return len(v)
	case []Array:
		return len(v)
	}
	return 0
}

// TensorType is a tensor's element encoding (ggml_type in ggml.h).
type TensorType uint32

// The tensor types a generated model uses; the reader knows all of tensorTypes.
const (
	TensorF32 TensorType = 0
	TensorF16 TensorType = 1
)

// tensorTypeInfo is how a ggml type packs elements: blockSize elements take
// typeSize bytes.
type tensorTypeInfo struct {
	name      string
	blockSize uint64
	typeSize  uint64
}

// tensorTypes lists the ggml types of llama.cpp v0.5.0 (gguf-py's
// GGML_QUANT_SIZES). Numbers missing here were removed from the format.
var tensorTypes = map[TensorType]tensorTypeInfo{
	0:  {"F32", 1, 4},
	1:  {"F16", 1, 2},
	2:  {"Q4_0", 32, 18},
	3:  {"Q4_1", 32, 20},
	6:  {"Q5_0", 32, 22},
	7:  {"Q5_1", 32, 24},
	8:  {"Q8_0", 32, 34},
	9:  {"Q8_1", 32, 36},
	10: {"Q2_K", 256, 84},
	11: {"Q3_K", 256, 110},
	12: {"Q4_K", 256, 144},
	13: {"Q5_K", 256, 176},
	14: {"Q6_K", 256, 210},
	15: {"Q8_K", 256, 292},
	16: {"IQ2_XXS", 256, 66},
	17: {"IQ2_XS", 256, 74},
	18: {"IQ3_XXS", 256, 98},
	19: {"IQ1_S", 256, 50},
	20: {"IQ4_NL", 32, 18},
	21: {"IQ3_S", 256, 110},
	22: {"IQ2_S", 256, 82},
	23: {"IQ4_XS", 256, 136},
	24: {"I8", 1, 1},
	25: {"I16", 1, 2},
	26: {"I32", 1, 4},
	27: {"I64", 1, 8},
	28: {"F64", 1, 8},
	29: {"IQ1_M", 256, 56},
	30: {"BF16", 1, 2},
	34: {"TQ1_0", 256, 54},
	35: {"TQ2_0", 256, 66},
	39: {"MXFP4", 32, 17},
	40: {"NVFP4", 64, 36},
	41: {"Q1_0", 128, 18},
	42: {"Q2_0", 64, 18},
}

func (t TensorType) String() string {
	if ti, ok := tensorTypes[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// TensorInfo describes one tensor: Dims lists its extents innermost first
// (ggml's ne[0], ne[1], ...), and Offset is where its data starts relative to
// File.DataOffset.
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   TensorType
	Offset uint64
}

// Elements is the number of elements in the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Bytes is the size of the tensor's data. The reader has checked that it
// neither overflows nor reaches past the end of the file.
func (t TensorInfo) Bytes() uint64 {
	ti := tensorTypes[t.Type]
	if ti.blockSize == 0 {
		return 0
	}
	return t.Elements() / ti.blockSize * ti.typeSize
}

// File is a parsed GGUF header: metadata and tensor descriptions. Tensor data
// is not loaded; DataOffset tells where it starts in the file.
type File struct {
	Version  uint32
	Metadata []KV
	Tensors  []TensorInfo
	// Alignment of the tensor data, from general.alignment (default 32).
	Alignment uint64
	// DataOffset is the file offset of the tensor data section.
	DataOffset int64
	// Size is the size of the whole file in bytes.
	Size int64

	index map[string]int
}

// Get returns the metadata entry for key.
func (f *File) Get(key string) (KV, bool) {
	i, ok := f.index[key]
	if !ok {
		return KV{}, false
	}
	return f.Metadata[i], true
}

// String returns a string metadata value.
func (f *File) String(key string) (string, bool) {
	kv, ok := f.Get(key)
	if !ok {
		return "", false
	}
	s, ok := kv.Value.(string)
	return s, ok
}

// Uint returns an integer metadata value of any integer type as uint64;
// negative values are reported as absent.
func (f *File) Uint(key string) (uint64, bool) {
	kv, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return asUint(kv.Value)
}

// asUint converts a scalar integer value to uint64; ok is false for other
// types and for negative values.
func asUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}
