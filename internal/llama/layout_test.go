package llama

import (
	"reflect"
	"testing"
	"unsafe"
)

// cLayout is a struct's size and field offsets as the C compiler lays out llama.h of release v0.5.0 on
// linux/amd64.
type cLayout struct {
	size    uintptr
	offsets map[string]uintptr // Go field name → offset of the C field it mirrors
}

var llamaHLayouts = map[string]struct {
	goType reflect.Type
	want   cLayout
}{
	"llama_model_params": {reflect.TypeFor[modelParams](), cLayout{80, map[string]uintptr{
		"devices": 0, "tensorBuftOverrides": 8, "nGPULayers": 16, "splitMode": 20, "loadMode": 24,
		"lazyMode": 28, "mainGPU": 32, "tensorSplit": 40, "progressCallback": 48, "progressUserData": 56,
		"kvOverrides": 64, "vocabOnly": 72, "checkTensors": 73, "useExtraBufts": 74, "noHost": 75,
		"noAlloc": 76, "loadMTP": 77,
	}}},
	"llama_context_params": {reflect.TypeFor[contextParams](), cLayout{160, map[string]uintptr{
		"nCtx": 0, "nBatch": 4, "nUBatch": 8, "nSeqMax": 12, "nRSSeq": 16, "nOutputsMax": 20,
		"nOutputsMaxPerSeq": 24, "nThreads": 28, "nThreadsBatch": 32, "ctxType": 36, "ropeScalingType": 40,
		"poolingType": 44, "attentionType": 48, "flashAttnType": 52, "ropeFreqBase": 56, "ropeFreqScale": 60,
		"yarnExtFactor": 64, "yarnAttnFactor": 68, "yarnBetaFast": 72, "yarnBetaSlow": 76, "yarnOrigCtx": 80,
		"defragThold": 84, "cbEval": 88, "cbEvalUserData": 96, "typeK": 104, "typeV": 108,
		"abortCallback": 112, "abortCallbackData": 120, "embeddings": 128, "offloadKQV": 129, "noPerf": 130,
		"opOffload": 131, "swaFull": 132, "kvUnified": 133, "samplers": 136, "nSamplers": 144, "ctxOther": 152,
	}}},
	"llama_batch": {reflect.TypeFor[cBatch](), cLayout{56, map[string]uintptr{
		"nTokens": 0, "token": 8, "embd": 16, "pos": 24, "nSeqID": 32, "seqID": 40, "logits": 48,
	}}},
	"llama_sampler_chain_params": {reflect.TypeFor[samplerChainParams](), cLayout{1, map[string]uintptr{
		"noPerf": 0,
	}}},
	"llama_chat_message": {reflect.TypeFor[chatMessage](), cLayout{16, map[string]uintptr{
		"role": 0, "content": 8,
	}}},
	"ggml_threadpool_params": {reflect.TypeFor[threadpoolParams](), cLayout{528, map[string]uintptr{
		"cpumask": 0, "nThreads": 512, "prio": 516, "poll": 520, "strictCPU": 524, "paused": 525,
	}}},
}

func TestStructLayoutsMatchLlamaH(t *testing.T) {
	for cName, s := range llamaHLayouts {
		if got := s.goType.Size(); got != s.want.size {
			t.Errorf("%s: Go mirror %s is %d bytes, llama.h's is %d", cName, s.goType, got, s.want.size)
		}
		seen := map[string]bool{}
		for i := range s.goType.NumField() {
			f := s.goType.Field(i)
			if f.Name == "_" {
				continue
			}
			seen[f.Name] = true
			want, ok := s.want.offsets[f.Name]
			if !ok {
				t.Errorf("%s: Go field %s mirrors no C field", cName, f.Name)
				continue
			}
			if f.Offset != want {
				t.Errorf("%s: field %s at offset %d, llama.h has it at %d", cName, f.Name, f.Offset, want)
			}
		}
		for name := range s.want.offsets {
			if !seen[name] {
				t.Errorf("%s: C field mirrored as %s is missing from %s", cName, name, s.goType)
			}
		}
	}
}

// The defaults llama.cpp v0.5.0 returns (src/llama-model.cpp, src/llama-context.cpp, src/llama.cpp). Read
// back through the Go mirrors, any field that moved shows up as a wrong value next to it.
var (
	wantModelDefaults = modelParams{
		nGPULayers:    -1,
		splitMode:     1,  // LLAMA_SPLIT_MODE_LAYER
		loadMode:      -1, // LLAMA_LOAD_MODE_AUTO
		lazyMode:      1,  // LLAMA_LAZY_MODE_AUTO
		useExtraBufts: true,
	}
	wantContextDefaults = contextParams{
		nCtx: 512, nBatch: 2048, nUBatch: 512, nSeqMax: 1, nOutputsMaxPerSeq: 1,
		nThreads: 4, nThreadsBatch: 4, // GGML_DEFAULT_N_THREADS
		ropeScalingType: -1, poolingType: -1, attentionType: -1, flashAttnType: -1,
		yarnExtFactor: -1, yarnAttnFactor: -1, yarnBetaFast: -1, yarnBetaSlow: -1, defragThold: -1,
		typeK: 1, typeV: 1, // GGML_TYPE_F16
		offloadKQV: true, noPerf: true, opOffload: true, swaFull: true,
	}
	wantSamplerChainDefaults = samplerChainParams{noPerf: true}
)

func TestDefaultParamsReadBackThroughMirrors(t *testing.T) {
	initLibraries(t)
	if got := llamaModelDefaultParams(); got != wantModelDefaults {
		t.Errorf("llama_model_default_params read as\n%+v\nwant\n%+v", got, wantModelDefaults)
	}
	if got := llamaContextDefaultParams(); got != wantContextDefaults {
		t.Errorf("llama_context_default_params read as\n%+v\nwant\n%+v", got, wantContextDefaults)
	}
	if got := llamaSamplerChainDefaultParams(); got != wantSamplerChainDefaults {
		t.Errorf("llama_sampler_chain_default_params read as %+v, want %+v", got, wantSamplerChainDefaults)
	}
}

// TestThreadpoolParamsInitReadBackThroughMirror fills the mirror with ggml_threadpool_params_init over
// nonzero bytes: every field it sets must come back at its default, and nothing past the struct may change.
func TestThreadpoolParamsInitReadBackThroughMirror(t *testing.T) {
	initLibraries(t)
	var guarded struct {
		p     threadpoolParams
		guard [16]byte
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&guarded)), unsafe.Sizeof(guarded))
	for i := range raw {
		raw[i] = 0x5a
	}
	ggmlThreadpoolParamsInit(&guarded.p, 3)
	got := guarded.p
	if want := (threadpoolParams{nThreads: 3, poll: 50}); got != want {
		t.Errorf("ggml_threadpool_params_init(3) read as %+v, want %+v", got, want)
	}
	for i, b := range guarded.guard {
		if b != 0x5a {
			t.Fatalf("ggml_threadpool_params_init wrote byte %d past the mirror's end", i)
		}
	}
}

// TestBatchInitReadBackThroughMirror checks llama_batch through what llama_batch_init fills in: a token
// batch has no embd array, and the seq_id array ends with a NULL after n_tokens entries.
func TestBatchInitReadBackThroughMirror(t *testing.T) {
	initLibraries(t)
	const n = 4
	b := llamaBatchInit(n, 0, 2)
	defer llamaBatchFree(b)
	if b.nTokens != 0 || b.embd != nil {
		t.Fatalf("llama_batch_init read as n_tokens %d, embd %p; want 0 and nil", b.nTokens, b.embd)
	}
	for name, p := range map[string]unsafe.Pointer{"token": b.token, "pos": b.pos, "n_seq_id": b.nSeqID, "seq_id": b.seqID, "logits": b.logits} {
		if p == nil {
			t.Errorf("llama_batch_init left %s NULL", name)
		}
	}
	seqIDs := unsafe.Slice((*unsafe.Pointer)(b.seqID), n+1)
	for i, p := range seqIDs {
		if (p == nil) != (i == n) {
			t.Errorf("seq_id[%d] = %p; want non-NULL before index %d and NULL at it", i, p, n)
		}
	}
}
