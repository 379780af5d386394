// Package memory tells how much memory a model needs and how much a loaded
// one takes, so that custos can load models on demand and unload idle ones
// within a memory budget: an estimate from a model's GGUF metadata before it
// loads (Estimate), the machine's memory and the default budget
// (MachineMemory, AutoBudget), and the resident memory of a running
// backend's process group (GroupRSS).
package memory

import (
	"fmt"
	"math"

	"custos/internal/gguf"
)

// Figures of llama.cpp and of custos that the estimate follows; each says
// where it comes from.
const (
	// defaultContext is custos runner's context size when the configuration
	// sets none and the model was trained on more (cmd/custos runner's -c
	// default; internal/supervisor runnerContextCap).
	defaultContext = 4096
	// cellPad is the granularity of llama.cpp's KV cache: llama_context's
	// constructor rounds n_ctx, then each sequence's share n_ctx_seq, up to
	// a multiple of 256 cells (GGML_PAD(n, 256)).
	cellPad = 256
	// kvElementBytes is the size of one cached K or V element: F16, the
	// default cache type (llama_context_default_params type_k and type_v;
	// llama-server -ctk/-ctv f16).
	kvElementBytes = 2
	// ubatch is the most tokens one compute pass holds, the size llama.cpp
	// reserves its compute buffer for (llama_context_default_params
	// n_ubatch and llama-server's -ub default are 512; custos runner keeps
	// it).
	ubatch = 512
	// floatBytes is the size of the values in compute buffers and outputs:
	// F32.
	floatBytes = 4
	// processOverhead is the backend process itself: its binary and the
	// llama.cpp libraries, heap, thread stacks and request buffers. custos
	// runner measured 23 MiB resident at rest and 29 MiB after a
	// 1,800-token request on a 0.9 MB model; llama-server is of the same
	// order. 64 MiB leaves room for either.
	processOverhead = 64 << 20
)

// Footprint is what a model is expected to take once loaded and serving, in
// bytes, with the figures it was computed from.
type Footprint struct {
	// Context is the context size in tokens the estimate is for, after the
	// default.
	Context int
	// Slots is the number of sequences decoded together (--parallel).
	Slots int
	// Cells is the KV cache's size in tokens: Context rounded up as
	// llama.cpp does.
	Cells int64
	// Weights is the model file's size: llama.cpp maps the file into
	// memory, and the mapped pages count as resident once read, which
	// loading does for every tensor.
	Weights int64
	// KVCache is the attention cache, allocated and cleared in full at
	// load.
	KVCache int64
	// Compute is the largest compute buffer a pass needs.
	Compute int64
	// Overhead is the process itself and the output buffer.
	Overhead int64
	// Adapters are the LoRA adapters the backend loads (see WithAdapters); 0 for none.
	Adapters int64
	// Total is the sum of them all.
	Total int64
}

// Estimate is the memory a llama.cpp backend (custos runner, or llama-server
// with its defaults) takes to serve the model described by info with a
// context of ctx tokens shared by slots sequences. A ctx of 0 (or less)
// means custos runner's default, the model's trained context capped at 4096
// tokens; slots below 1 mean 1. Estimate does no I/O.
//
// The terms, following how llama.cpp allocates (E the embedding width, H the
// heads, H_kv the KV heads, F the feed-forward width, V the vocabulary):
//
//   - Weights = the file size: the tensors are mapped from the file (mmap is
//     llama.cpp's default) and loading reads them all, so they are resident
//     (custos runner holds 486 MiB of file pages once a 470 MiB model is
//     ready); the metadata the file also holds is small.
//   - KVCache = layers × 2 (K and V) × cells × (E/H) × H_kv × 2 bytes: per
//     layer, llama_kv_cache allocates one K and one V tensor of
//     n_embd_k_gqa = head width × H_kv elements per cell, F16 by default.
//     The cells are the whole context shared by the slots, not a context per
//     slot: llama.cpp rounds ctx up to a multiple of 256, then each slot's
//     share of it likewise, so cells = slots × ⌈⌈ctx⌉₂₅₆ / slots⌉₂₅₆ (custos
//     runner reports n_ctx 1024 for -c 1000 -np 4, 8192 for -c 4096 -np 32,
//     4608 for -c 4100 -np 3). A Llama-3-8B shape at 8192 cells gives
//     32 × 2 × 8192 × 1024 × 2 = 1 GiB, the 1024.00 MiB llama.cpp logs.
//   - Compute = 4 bytes × min(512, cells) tokens × max(3F + 5E, E + V): the
//     compute buffer holds F32 values and is reserved for one ubatch of 512
//     tokens (fewer when the cache is smaller); its peak is the larger of
//     the output logits of every token of the ubatch (E + V) and one
//     layer's feed-forward stage (3F + 5E, a fit: about three F-wide and
//     five E-wide rows live at once). E + V is the 258.50 MiB compute buffer
//     llama.cpp logs for Llama-3-8B at 512 and 2048 cells, and the 298.50 MiB
//     for Qwen2.5-0.5B at 2048 and, with flash attention, 32768 cells.
//     3F + 5E is the 124 MiB llama.cpp's memory breakdown shows for
//     Llama-3-8B at 8192 cells in builds that reserve fewer logits, and it
//     gives 34 MiB for a generated model (E 1024, F 4096, vocabulary 706)
//     whose custos runner grew by 37 MiB, its own heap included, over a full
//     4096-token prompt. This assumes flash attention, which both engines
//     turn on for CPU by default (--flash-attn auto; custos runner measured
//     so): without it the attention scores add 4 bytes × 512 × cells × H
//     (llama-server -fa off).
//   - Overhead = 64 MiB for the process (see processOverhead) + the output
//     buffer of 4 bytes × V per slot (0.49 MiB for Llama-3 on one slot).
//
// What it leaves out: the head width is taken as E/H, while a few
// architectures set another (attention.key_length, as Gemma does), and
// sliding-window layers cache less than the whole context; llama.cpp's CPU
// repacking of some quantizations (Q4_0 and others, on CPUs it has kernels
// for) copies those tensors into memory of their own; llama-server's prompt
// cache in host memory (--cache-ram) grows apart from all of this; custos
// runner with --embeddings computes 2048-token passes, four times the
// Compute term. GroupRSS measures what a loaded backend really takes.
//
// Against custos runner on that generated model (470 MiB file, 8 layers,
// 16 heads, 4 KV heads) at 4096 cells, the estimate is 600 MiB and the peak
// resident memory measured 561 MiB.
func Estimate(info gguf.Info, ctx, slots int) Footprint {
	if ctx <= 0 {
		ctx = defaultContext
		if info.ContextLength > 0 && info.ContextLength < ctx {
			ctx = info.ContextLength
		}
	}
	slots = max(slots, 1)
	// llama.cpp's n_ctx is a uint32 (llama_context_params).
	cells := kvCells(min(int64(ctx), math.MaxUint32), int64(slots))
	f := Footprint{Context: ctx, Slots: slots, Cells: cells, Weights: max(info.Size, 0)}

	if info.HeadCount > 0 {
		headWidth := int64(info.EmbeddingLength / info.HeadCount)
		f.KVCache = product(int64(info.BlockCount), 2, f.Cells, headWidth, int64(info.HeadCountKV), kvElementBytes)
	}
	e, ffn, vocab := int64(info.EmbeddingLength), int64(info.FeedForwardLength), int64(info.VocabSize)
	f.Compute = product(floatBytes, min(ubatch, f.Cells), max(3*ffn+5*e, e+vocab))
	f.Overhead = sum(processOverhead, product(floatBytes, vocab, int64(slots)))
	f.Total = sum(f.Weights, f.KVCache, f.Compute, f.Overhead)
	return f
}

// kvCells is the KV cache size llama.cpp allocates for ctx tokens over
// slots sequences: ctx rounded up to a multiple of 256, then each
// sequence's share rounded up likewise, at least 256 (llama_context's
// constructor). That is the layout of custos runner and of llama-server with
// --parallel, one cache stream per slot; llama-server's unified cache
// (--kv-unified) holds the rounded ctx alone, which is never more.
func kvCells(ctx, slots int64) int64 {
	perSlot := max(roundUp(roundUp(ctx, cellPad)/slots, cellPad), cellPad)
	return product(perSlot, slots)
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// product multiplies non-negative factors, saturating at math.MaxInt64, so
// a hostile file's metadata yields a huge estimate rather than a wrapped
// one.
func product(factors ...int64) int64 {
	p := int64(1)
	for _, f := range factors {
		if f <= 0 {
			return 0
		}
		if p > math.MaxInt64/f {
			return math.MaxInt64
		}
		p *= f
	}
	return p
}

// sum adds non-negative terms, saturating at math.MaxInt64.
func sum(terms ...int64) int64 {
	s := int64(0)
	for _, t := range terms {
		if s > math.MaxInt64-t {
			return math.MaxInt64
		}
		s += t
	}
	return s
}

// String explains the estimate in one line, for `custos check` and
// `custos ps`.
func (f Footprint) String() string {
	slots := "slots"
	if f.Slots == 1 {
		slots = "slot"
	}
	s := fmt.Sprintf("%s estimated: weights %s (file) + KV cache %s (F16, %d cells for %d %s) + compute %s + overhead %s",
		FormatBytes(f.Total), FormatBytes(f.Weights), FormatBytes(f.KVCache), f.Cells, f.Slots, slots,
		FormatBytes(f.Compute), FormatBytes(f.Overhead))
	if f.Adapters > 0 {
		s += " + LoRA adapters " + FormatBytes(f.Adapters) + " (files)"
	}
	return s
}

// WithAdapters adds LoRA adapters of that many bytes (their files' sizes): llama.cpp reads their tensors
// into buffers of their own, beside the model's.
func (f Footprint) WithAdapters(bytes int64) Footprint {
	f.Adapters = max(bytes, 0)
	f.Total = sum(f.Total, f.Adapters)
	return f
}

// FormatBytes writes n bytes for people, in binary units with one decimal
// ("1.5 GiB"), as budgets and estimates are shown.
func FormatBytes(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1<<10 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/(1<<10), units[0]
	for _, u := range units[1:] {
		// Below 1023.95 the value prints as at most 1023.9 of this unit.
		if v < 1023.95 {
			break
		}
		v, unit = v/(1<<10), u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
