package llama

import "unsafe"

// The types below mirror C structs of llama.cpp v0.5.0's include/llama.h field for field, in order, with the
// padding the C compiler inserts on linux/amd64 written out. They are passed to and returned from C by value,
// so one wrong field shifts everything after it: layout_test.go pins their sizes and offsets and reads the
// library's defaults back through them. Fields custos never sets are still declared, to keep the offsets.

// modelParams mirrors struct llama_model_params (80 bytes).
type modelParams struct {
	devices             unsafe.Pointer // ggml_backend_dev_t *
	tensorBuftOverrides unsafe.Pointer // const struct llama_model_tensor_buft_override *
	nGPULayers          int32
	splitMode           int32 // enum llama_split_mode
	loadMode            int32 // enum llama_load_mode
	lazyMode            int32 // enum llama_lazy_mode
	mainGPU             int32
	_                   [4]byte
	tensorSplit         unsafe.Pointer // const float *
	progressCallback    uintptr        // llama_progress_callback
	progressUserData    uintptr        // void *
	kvOverrides         unsafe.Pointer // const struct llama_model_kv_override *
	vocabOnly           bool
	checkTensors        bool
	useExtraBufts       bool
	noHost              bool
	noAlloc             bool
	loadMTP             bool
	_                   [2]byte
}

// Values of enum llama_load_mode that custos uses.
const (
	loadModeNone int32 = 0 // read the file into memory
	loadModeMmap int32 = 1 // map the file
)

// contextParams mirrors struct llama_context_params (160 bytes).
type contextParams struct {
	nCtx              uint32
	nBatch            uint32
	nUBatch           uint32
	nSeqMax           uint32
	nRSSeq            uint32
	nOutputsMax       uint32
	nOutputsMaxPerSeq uint32
	nThreads          int32
	nThreadsBatch     int32
	ctxType           int32 // enum llama_context_type
	ropeScalingType   int32 // enum llama_rope_scaling_type
	poolingType       int32 // enum llama_pooling_type
	attentionType     int32 // enum llama_attention_type
	flashAttnType     int32 // enum llama_flash_attn_type
	ropeFreqBase      float32
	ropeFreqScale     float32
	yarnExtFactor     float32
	yarnAttnFactor    float32
	yarnBetaFast      float32
	yarnBetaSlow      float32
	yarnOrigCtx       uint32
	defragThold       float32
	cbEval            uintptr // ggml_backend_sched_eval_callback
	cbEvalUserData    uintptr // void *
	typeK             int32   // enum ggml_type
	typeV             int32   // enum ggml_type
	abortCallback     uintptr // ggml_abort_callback
	abortCallbackData uintptr // void *
	embeddings        bool
	offloadKQV        bool
	noPerf            bool
	opOffload         bool
	swaFull           bool
	kvUnified         bool
	_                 [2]byte
	samplers          unsafe.Pointer // struct llama_sampler_seq_config *
	nSamplers         uintptr        // size_t
	ctxOther          unsafe.Pointer // struct llama_context *
}

// poolingMean is LLAMA_POOLING_TYPE_MEAN of enum llama_pooling_type.
const poolingMean int32 = 1

// cBatch mirrors struct llama_batch (56 bytes). Its arrays are C memory from llama_batch_init.
type cBatch struct {
	nTokens int32
	_       [4]byte
	token   unsafe.Pointer // llama_token *
	embd    unsafe.Pointer // float *
	pos     unsafe.Pointer // llama_pos *
	nSeqID  unsafe.Pointer // int32_t *
	seqID   unsafe.Pointer // llama_seq_id **
	logits  unsafe.Pointer // int8_t *
}

// samplerChainParams mirrors struct llama_sampler_chain_params (1 byte).
type samplerChainParams struct {
	noPerf bool
}

// chatMessage mirrors struct llama_chat_message (16 bytes): two NUL-terminated strings.
type chatMessage struct {
	role    *byte
	content *byte
}
