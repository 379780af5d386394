package llama

import (
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The C functions custos calls, bound by Init. Opaque C handles (llama_model *, llama_context *, ...) travel
// as uintptr: Go never dereferences them. Signatures follow llama.h of release v0.5.0.
var (
	ggmlBackendLoadAllFromPath func(dir string)
	ggmlBackendDevCount        func() uintptr
	ggmlBackendDevByType       func(devType int32) uintptr

	ggmlBackendDevBackendReg     func(dev uintptr) uintptr
	ggmlBackendRegGetProcAddress func(reg uintptr, name string) uintptr
	ggmlThreadpoolParamsInit     func(params *threadpoolParams, nThreads int32)

	llamaLogSet                    func(callback, userData uintptr)
	llamaBackendInit               func()
	llamaPrintSystemInfo           func() string
	llamaModelDefaultParams        func() modelParams
	llamaContextDefaultParams      func() contextParams
	llamaSamplerChainDefaultParams func() samplerChainParams

	llamaModelLoadFromFile func(path string, params modelParams) uintptr
	llamaModelFree         func(model uintptr)
	llamaModelGetVocab     func(model uintptr) uintptr
	llamaModelNEmbd        func(model uintptr) int32
	llamaModelNEmbdOut     func(model uintptr) int32
	llamaModelNCtxTrain    func(model uintptr) int32
	llamaModelDesc         func(model uintptr, buf *byte, size uintptr) int32
	llamaModelSize         func(model uintptr) uint64
	llamaModelNParams      func(model uintptr) uint64
	llamaModelMetaValStr   func(model uintptr, key string, buf *byte, size uintptr) int32
	llamaModelChatTemplate func(model uintptr, name *byte) string
	llamaModelFtype        func(model uintptr) int32
	llamaFtypeName         func(ftype int32) string
	llamaVocabType         func(vocab uintptr) int32

	llamaVocabNTokens      func(vocab uintptr) int32
	llamaVocabBOS          func(vocab uintptr) Token
	llamaVocabEOS          func(vocab uintptr) Token
	llamaVocabIsEOG        func(vocab uintptr, token Token) bool
	llamaTokenize          func(vocab uintptr, text *byte, textLen int32, tokens *Token, maxTokens int32, addSpecial, parseSpecial bool) int32
	llamaTokenToPiece      func(vocab uintptr, token Token, buf *byte, length int32, lstrip int32, special bool) int32
	llamaDetokenize        func(vocab uintptr, tokens *Token, nTokens int32, text *byte, maxText int32, removeSpecial, unparseSpecial bool) int32
	llamaChatApplyTemplate func(tmpl *byte, chat *chatMessage, nMsg uintptr, addAssistant bool, buf *byte, length int32) int32
	llamaChatBuiltins      func(output **byte, length uintptr) int32

	// Fill-in-the-middle (fim.go) and reranking (rerank.go).
	llamaVocabFIMPre      func(vocab uintptr) Token
	llamaVocabFIMSuf      func(vocab uintptr) Token
	llamaVocabFIMMid      func(vocab uintptr) Token
	llamaVocabFIMRep      func(vocab uintptr) Token
	llamaVocabFIMSep      func(vocab uintptr) Token
	llamaVocabSEP         func(vocab uintptr) Token
	llamaVocabGetAddBOS   func(vocab uintptr) bool
	llamaVocabGetAddEOS   func(vocab uintptr) bool
	llamaVocabGetAddSEP   func(vocab uintptr) bool
	llamaModelNClsOut     func(model uintptr) uint32
	llamaModelIsRecurrent func(model uintptr) bool

	llamaInitFromModel        func(model uintptr, params contextParams) uintptr
	llamaFree                 func(ctx uintptr)
	llamaNCtx                 func(ctx uintptr) uint32
	llamaNCtxSeq              func(ctx uintptr) uint32
	llamaNSeqMax              func(ctx uintptr) uint32
	llamaNBatch               func(ctx uintptr) uint32
	llamaGetMemory            func(ctx uintptr) uintptr
	llamaMemorySeqRm          func(mem uintptr, seq, p0, p1 int32) bool
	llamaMemorySeqCp          func(mem uintptr, src, dst, p0, p1 int32)
	llamaMemorySeqPosMax      func(mem uintptr, seq int32) int32
	llamaMemoryClear          func(mem uintptr, data bool)
	llamaStateSeqSaveFile     func(ctx uintptr, path string, seq int32, tokens *Token, nTokens uintptr) uintptr
	llamaStateSeqLoadFile     func(ctx uintptr, path string, seq int32, tokens *Token, capacity uintptr, nTokens *uintptr) uintptr
	llamaDecode               func(ctx uintptr, batch cBatch) int32
	llamaSetNThreads          func(ctx uintptr, nThreads, nThreadsBatch int32)
	llamaAttachThreadpool     func(ctx, pool, poolBatch uintptr)
	llamaGetLogitsIth         func(ctx uintptr, i int32) unsafe.Pointer
	llamaGetEmbeddingsIth     func(ctx uintptr, i int32) unsafe.Pointer
	llamaGetEmbeddingsSeq     func(ctx uintptr, seq int32) unsafe.Pointer
	llamaBatchInit            func(nTokens, embd, nSeqMax int32) cBatch
	llamaBatchFree            func(batch cBatch)
	llamaSamplerChainInit     func(params samplerChainParams) uintptr
	llamaSamplerChainAdd      func(chain, sampler uintptr)
	llamaSamplerInitGreedy    func() uintptr
	llamaSamplerInitDist      func(seed uint32) uintptr
	llamaSamplerInitTopK      func(k int32) uintptr
	llamaSamplerInitTopP      func(p float32, minKeep uintptr) uintptr
	llamaSamplerInitMinP      func(p float32, minKeep uintptr) uintptr
	llamaSamplerInitTemp      func(t float32) uintptr
	llamaSamplerInitPenalties func(nVocab, lastN int32, repeat, frequency, presence float32) uintptr
	llamaSamplerSample        func(sampler, ctx uintptr, idx int32) Token
	llamaSamplerAccept        func(sampler uintptr, token Token)
	llamaSamplerReset         func(sampler uintptr)
	llamaSamplerFree          func(sampler uintptr)

	// LoRA adapters (lora.go).
	llamaAdapterLoRAInit                  func(model uintptr, path string) uintptr
	llamaAdapterLoRAFree                  func(adapter uintptr)
	llamaAdapterMetaValStr                func(adapter uintptr, key string, buf *byte, size uintptr) int32
	llamaAdapterGetALoRANInvocationTokens func(adapter uintptr) uint64
	llamaSetAdaptersLoRA                  func(ctx uintptr, adapters *uintptr, nAdapters uintptr, scales *float32) int32

	llamaSamplerInitGrammar             func(vocab uintptr, grammar, root string) uintptr
	llamaSamplerInitGrammarLazyPatterns func(vocab uintptr, grammar, root string, patterns **byte, nPatterns uintptr, tokens *Token, nTokens uintptr) uintptr
	llamaSamplerApply                   func(sampler uintptr, candidates *tokenDataArray)
	llamaSamplerClone                   func(sampler uintptr) uintptr
)

// symbol pairs a C function name with the Go variable that calls it.
type symbol struct {
	name string
	fn   any
}

var ggmlBaseSymbols = []symbol{
	{"ggml_backend_dev_backend_reg", &ggmlBackendDevBackendReg},
	{"ggml_backend_reg_get_proc_address", &ggmlBackendRegGetProcAddress},
	{"ggml_threadpool_params_init", &ggmlThreadpoolParamsInit},
}

var ggmlSymbols = []symbol{
	{"ggml_backend_load_all_from_path", &ggmlBackendLoadAllFromPath},
	{"ggml_backend_dev_count", &ggmlBackendDevCount},
	{"ggml_backend_dev_by_type", &ggmlBackendDevByType},
}

var llamaSymbols = []symbol{
	{"llama_log_set", &llamaLogSet},
	{"llama_backend_init", &llamaBackendInit},
	{"llama_print_system_info", &llamaPrintSystemInfo},
	{"llama_model_default_params", &llamaModelDefaultParams},
	{"llama_context_default_params", &llamaContextDefaultParams},
	{"llama_sampler_chain_default_params", &llamaSamplerChainDefaultParams},
	{"llama_model_load_from_file", &llamaModelLoadFromFile},
	{"llama_model_free", &llamaModelFree},
	{"llama_model_get_vocab", &llamaModelGetVocab},
	{"llama_model_n_embd", &llamaModelNEmbd},
	{"llama_model_n_embd_out", &llamaModelNEmbdOut},
	{"llama_model_n_ctx_train", &llamaModelNCtxTrain},
	{"llama_model_desc", &llamaModelDesc},
	{"llama_model_size", &llamaModelSize},
	{"llama_model_n_params", &llamaModelNParams},
	{"llama_model_meta_val_str", &llamaModelMetaValStr},
	{"llama_model_chat_template", &llamaModelChatTemplate},
	{"llama_model_ftype", &llamaModelFtype},
	{"llama_ftype_name", &llamaFtypeName},
	{"llama_vocab_type", &llamaVocabType},
	{"llama_vocab_n_tokens", &llamaVocabNTokens},
	{"llama_vocab_bos", &llamaVocabBOS},
	{"llama_vocab_eos", &llamaVocabEOS},
	{"llama_vocab_is_eog", &llamaVocabIsEOG},
	{"llama_tokenize", &llamaTokenize},
	{"llama_token_to_piece", &llamaTokenToPiece},
	{"llama_detokenize", &llamaDetokenize},
	{"llama_chat_apply_template", &llamaChatApplyTemplate},
	{"llama_chat_builtin_templates", &llamaChatBuiltins},
	{"llama_vocab_fim_pre", &llamaVocabFIMPre},
	{"llama_vocab_fim_suf", &llamaVocabFIMSuf},
	{"llama_vocab_fim_mid", &llamaVocabFIMMid},
	{"llama_vocab_fim_rep", &llamaVocabFIMRep},
	{"llama_vocab_fim_sep", &llamaVocabFIMSep},
	{"llama_vocab_sep", &llamaVocabSEP},
	{"llama_vocab_get_add_bos", &llamaVocabGetAddBOS},
	{"llama_vocab_get_add_eos", &llamaVocabGetAddEOS},
	{"llama_vocab_get_add_sep", &llamaVocabGetAddSEP},
	{"llama_model_n_cls_out", &llamaModelNClsOut},
	{"llama_model_is_recurrent", &llamaModelIsRecurrent},
	{"llama_init_from_model", &llamaInitFromModel},
	{"llama_free", &llamaFree},
	{"llama_n_ctx", &llamaNCtx},
	{"llama_n_ctx_seq", &llamaNCtxSeq},
	{"llama_n_seq_max", &llamaNSeqMax},
	{"llama_n_batch", &llamaNBatch},
	{"llama_get_memory", &llamaGetMemory},
	{"llama_memory_seq_rm", &llamaMemorySeqRm},
	{"llama_memory_seq_cp", &llamaMemorySeqCp},
	{"llama_memory_seq_pos_max", &llamaMemorySeqPosMax},
	{"llama_memory_clear", &llamaMemoryClear},
	{"llama_state_seq_save_file", &llamaStateSeqSaveFile},
	{"llama_state_seq_load_file", &llamaStateSeqLoadFile},
	{"llama_decode", &llamaDecode},
	{"llama_set_n_threads", &llamaSetNThreads},
	{"llama_attach_threadpool", &llamaAttachThreadpool},
	{"llama_get_logits_ith", &llamaGetLogitsIth},
	{"llama_get_embeddings_ith", &llamaGetEmbeddingsIth},
	{"llama_get_embeddings_seq", &llamaGetEmbeddingsSeq},
	{"llama_batch_init", &llamaBatchInit},
	{"llama_batch_free", &llamaBatchFree},
	{"llama_sampler_chain_init", &llamaSamplerChainInit},
	{"llama_sampler_chain_add", &llamaSamplerChainAdd},
	{"llama_sampler_init_greedy", &llamaSamplerInitGreedy},
	{"llama_sampler_init_dist", &llamaSamplerInitDist},
	{"llama_sampler_init_top_k", &llamaSamplerInitTopK},
	{"llama_sampler_init_top_p", &llamaSamplerInitTopP},
	{"llama_sampler_init_min_p", &llamaSamplerInitMinP},
	{"llama_sampler_init_temp", &llamaSamplerInitTemp},
	{"llama_sampler_init_penalties", &llamaSamplerInitPenalties},
	{"llama_sampler_sample", &llamaSamplerSample},
	{"llama_sampler_accept", &llamaSamplerAccept},
	{"llama_sampler_reset", &llamaSamplerReset},
	{"llama_sampler_free", &llamaSamplerFree},
	{"llama_adapter_lora_init", &llamaAdapterLoRAInit},
	{"llama_adapter_lora_free", &llamaAdapterLoRAFree},
	{"llama_adapter_meta_val_str", &llamaAdapterMetaValStr},
	{"llama_adapter_get_alora_n_invocation_tokens", &llamaAdapterGetALoRANInvocationTokens},
	{"llama_set_adapters_lora", &llamaSetAdaptersLoRA},
	{"llama_sampler_init_grammar", &llamaSamplerInitGrammar},
	{"llama_sampler_init_grammar_lazy_patterns", &llamaSamplerInitGrammarLazyPatterns},
	{"llama_sampler_apply", &llamaSamplerApply},
	{"llama_sampler_clone", &llamaSamplerClone},
}

// bindSymbols looks every symbol up in the library behind handle and points its Go variable at it.
// A missing symbol is an error naming it (purego.RegisterLibFunc would panic instead), which is what a
// library of another release looks like when its file was renamed to the expected name.
func bindSymbols(handle uintptr, lib string, symbols []symbol) error {
	for _, s := range symbols {
		addr, err := purego.Dlsym(handle, s.name)
		if err != nil || addr == 0 {
			return fmt.Errorf("%s has no symbol %s (is it llama.cpp %s?): %s", lib, s.name, Release, fixHint)
		}
		purego.RegisterFunc(s.fn, addr)
	}
	return nil
}
