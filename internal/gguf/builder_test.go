package gguf

import (
	"encoding/binary"
	"math"
)

// builder assembles GGUF bytes field by field, so tests can write both valid
// files and every kind of broken one.
type builder struct{ b []byte }

func (b *builder) u8(v uint8) *builder   { b.b = append(b.b, v); return b }
func (b *builder) u16(v uint16) *builder { b.b = binary.LittleEndian.AppendUint16(b.b, v); return b }
func (b *builder) u32(v uint32) *builder { b.b = binary.LittleEndian.AppendUint32(b.b, v); return b }
func (b *builder) u64(v uint64) *builder { b.b = binary.LittleEndian.AppendUint64(b.b, v); return b }
func (b *builder) f32(v float32) *builder {
	return b.u32(math.Float32bits(v))
}
func (b *builder) f64(v float64) *builder { return b.u64(math.Float64bits(v)) }
func (b *builder) str(s string) *builder {
	b.u64(uint64(len(s)))
	b.b = append(b.b, s...)
	return b
}

// header writes magic, version and the two counts.
func (b *builder) header(version uint32, nTensors, nKV uint64) *builder {
	return b.u32(magic).u32(version).u64(nTensors).u64(nKV)
}

// key starts a metadata entry of type t; the caller writes the value.
func (b *builder) key(k string, t ValueType) *builder { return b.str(k).u32(uint32(t)) }

// tensor writes a tensor description.
func (b *builder) tensor(name string, typ TensorType, offset uint64, dims ...uint64) *builder {
	b.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		b.u64(d)
	}
	return b.u32(uint32(typ)).u64(offset)
}

// padTo appends zeros up to a multiple of align.
func (b *builder) padTo(align int) *builder {
	for len(b.b)%align != 0 {
		b.b = append(b.b, 0)
	}
	return b
}

// zeros appends n zero bytes (tensor data).
func (b *builder) zeros(n int) *builder {
	b.b = append(b.b, make([]byte, n)...)
	return b
}

// smallValidFile is a complete GGUF v3 file with one entry of every scalar
// type, a string array, a nested array and two F32 tensors.
func smallValidFile() []byte {
	b := &builder{}
	b.header(3, 2, 16)
	b.key("general.architecture", TypeString).str("llama")
	b.key("general.alignment", TypeUint32).u32(32)
	b.key("u8", TypeUint8).u8(200)
	b.key("i8", TypeInt8).u8(0xFF)
	b.key("u16", TypeUint16).u16(60000)
	b.key("i16", TypeInt16).u16(0xFFFE)
	b.key("llama.context_length", TypeUint32).u32(4096)
	b.key("i32", TypeInt32).u32(0xFFFFFFFD)
	b.key("f32", TypeFloat32).f32(1.5)
	b.key("yes", TypeBool).u8(1)
	b.key("u64", TypeUint64).u64(1 << 40)
	b.key("i64", TypeInt64).u64(math.MaxUint64)
	b.key("f64", TypeFloat64).f64(-2.25)
	b.key("tokenizer.ggml.tokens", TypeArray).u32(uint32(TypeString)).u64(3).str("a").str("b").str("c")
	b.key("nested", TypeArray).u32(uint32(TypeArray)).u64(2).
		u32(uint32(TypeInt32)).u64(2).u32(1).u32(2).
		u32(uint32(TypeString)).u64(1).str("x")
	b.key("tokenizer.chat_template", TypeString).str("<|im_start|>")
	b.tensor("a.weight", TensorF32, 0, 4, 2)
	b.tensor("b.weight", TensorF32, 32, 3)
	b.padTo(32).zeros(32 + 12)
	return b.b
}
