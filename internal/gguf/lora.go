package gguf

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// LoRAOptions shapes a generated LoRA adapter. Zero fields take their defaults.
type LoRAOptions struct {
	// Rank is the inner width of each low-rank pair (default 4).
	Rank int
	// Alpha is adapter.lora.alpha; llama.cpp multiplies a pair by scale*Alpha/Rank (default Rank, so that
	// an adapter's scale is the factor its update is applied with).
	Alpha float32
	// Seed selects the weights: the same options and base model give identical bytes.
	Seed uint64
	// Targets are the base model's weight matrices the adapter changes, by tensor name (default
	// DefaultLoRATargets of the base model).
	Targets []string
	// InvocationTokens, when set, makes the adapter an activated LoRA
	// (adapter.alora.invocation_tokens), which applies only from these tokens of a prompt on.
	InvocationTokens []int32
}

// maxLoRARank bounds the rank far above what a test needs.
const maxLoRARank = 256

// DefaultLoRATargets are the weight matrices a generated adapter changes when LoRAOptions.Targets is
// empty: every block's query and value projections, the usual choice of LoRA fine-tuning, and the output
// projection, so that the adapter moves the logits of any prompt clearly.
func DefaultLoRATargets(base *File) []string {
	var targets []string
	for _, t := range base.Tensors {
		if strings.HasSuffix(t.Name, ".attn_q.weight") || strings.HasSuffix(t.Name, ".attn_v.weight") {
			targets = append(targets, t.Name)
		}
	}
	if _, ok := base.tensor("output.weight"); ok {
		targets = append(targets, "output.weight")
	}
	return targets
}

// GenerateLoRA writes to w a LoRA adapter GGUF for the model base describes, as llama.cpp v0.5.0's
// llama_adapter_lora_init loads one: general.type "adapter", adapter.type "lora", the base's architecture,
// and for each target W (ggml extents [in, out]) the pair W.lora_a [in, rank] and W.lora_b [rank, out],
// whose product updates W. The update of a target has about the size of W's own output (for inputs of
// unit scale), so an adapter at scale 1 changes what a generated model says.
func GenerateLoRA(w io.Writer, base *File, o LoRAOptions) error {
	if o.Rank == 0 {
		o.Rank = 4
	}
	if o.Alpha == 0 {
		o.Alpha = float32(o.Rank)
	}
	if len(o.Targets) == 0 {
		o.Targets = DefaultLoRATargets(base)
	}
	arch, _ := base.String("general.architecture")
	switch {
	case o.Rank < 0 || o.Rank > maxLoRARank:
		return fmt.Errorf("gguf: generate lora: rank %d out of range 1..%d", o.Rank, maxLoRARank)
	case math.IsNaN(float64(o.Alpha)) || math.IsInf(float64(o.Alpha), 0):
		return fmt.Errorf("gguf: generate lora: alpha %v is not a number", o.Alpha)
	case arch == "":
		return fmt.Errorf("gguf: generate lora: the base model has no general.architecture")
	case len(o.Targets) == 0:
		return fmt.Errorf("gguf: generate lora: the base model has no weight matrix to adapt")
	}
	rank := uint64(o.Rank)
	var tensors []genTensor
	for _, name := range o.Targets {
		t, ok := base.tensor(name)
		if !ok {
			return fmt.Errorf("gguf: generate lora: the base model has no tensor %q", name)
		}
		if len(t.Dims) != 2 || name == "token_embd.weight" {
			return fmt.Errorf("gguf: generate lora: %q is not a projection matrix", name)
		}
		in, out := t.Dims[0], t.Dims[1]
		tensors = append(tensors,
			genTensor{name + ".lora_a", []uint64{in, rank}, uniform(float32(1 / math.Sqrt(float64(in))))},
			genTensor{name + ".lora_b", []uint64{rank, out}, uniform(float32(1 / math.Sqrt(float64(rank))))},
		)
	}
	kvs := []KV{
		{Key: "general.architecture", Type: TypeString, Value: arch},
		{Key: "general.type", Type: TypeString, Value: "adapter"},
		{Key: "general.alignment", Type: TypeUint32, Value: uint32(defaultAlignment)},
		{Key: "adapter.type", Type: TypeString, Value: "lora"},
		{Key: "adapter.lora.alpha", Type: TypeFloat32, Value: o.Alpha},
	}
	if len(o.InvocationTokens) > 0 {
		kvs = append(kvs, KV{Key: "adapter.alora.invocation_tokens", Type: TypeArray,
			Value: Array{Type: TypeUint32, Values: o.InvocationTokens}})
	}
	if err := writeFile(w, kvs, tensors, o.Seed); err != nil {
		return fmt.Errorf("gguf: generate lora: %w", err)
	}
	return nil
}

// GenerateLoRAFile writes a generated adapter for the model file basePath to path atomically.
func GenerateLoRAFile(path, basePath string, o LoRAOptions) error {
	base, err := ReadFile(basePath)
	if err != nil {
		return err
	}
	return writeAtomically(path, func(w io.Writer) error { return GenerateLoRA(w, base, o) })
}

// tensor finds a tensor by name.
func (f *File) tensor(name string) (TensorInfo, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}
