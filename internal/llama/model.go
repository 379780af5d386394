package llama

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// Token is a llama.cpp token id (llama_token).
type Token int32

// ModelParams says how to load a model.
type ModelParams struct {
	// UseMmap maps the model file into memory instead of reading it (false reads it).
	UseMmap bool
	// Progress, when set, is called during the load with the fraction loaded so far, from 0 to 1, on the
	// goroutine that called LoadModel. Returning false aborts the load, and LoadModel returns ErrLoadAborted.
	Progress func(progress float32) bool
}

// ErrLoadAborted is returned by LoadModel when ModelParams.Progress returned false.
var ErrLoadAborted = errors.New("llama: model load aborted by the progress callback")

// Model is a loaded llama.cpp model. Its methods may be called from several goroutines; Close must be called
// once every Context made from it is closed.
type Model struct {
	ptr       uintptr // llama_model *
	vocab     uintptr // const llama_vocab *
	nEmbd     int
	nEmbdOut  int
	nVocab    int
	nCtxTrain int
	// byteTokens is findByteTokens, worked out on first use (lazy grammars check text by it).
	byteTokens func() [256]Token
}

// loadMu serialises model loads and context creations, the calls whose only failure report is a NULL
// result, so that the error lines captured from llama.cpp's log belong to the call that failed.
var loadMu sync.Mutex

// callReportingError runs a C call that returns NULL on failure and returns its result with the error lines
// llama.cpp logged during it.
func callReportingError(call func() uintptr) (uintptr, string) {
	loadMu.Lock()
	defer loadMu.Unlock()
	libraryLog.takeErrors()
	ptr := call()
	return ptr, libraryLog.takeErrors()
}

// LoadModel loads the GGUF model at path on the CPU.
func LoadModel(path string, p ModelParams) (*Model, error) {
	if !initialized() {
		return nil, ErrNotInitialized
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("llama: model: %w", err)
	}
	params := llamaModelDefaultParams()
	params.loadMode = loadModeNone
	if p.UseMmap {
		params.loadMode = loadModeMmap
	}
	aborted := false
	if p.Progress != nil {
		callback, userData, release := registerProgress(func(fraction float32) bool {
			if p.Progress(fraction) {
				return true
			}
			aborted = true
			return false
		})
		defer release()
		params.progressCallback = callback
		params.progressUserData = userData
	}
	ptr, errorLines := callReportingError(func() uintptr { return llamaModelLoadFromFile(path, params) })
	if ptr == 0 {
		if aborted {
			return nil, ErrLoadAborted
		}
		return nil, fmt.Errorf("llama: loading model %s: %s", path, describeFailure(errorLines))
	}
	m := &Model{ptr: ptr, vocab: llamaModelGetVocab(ptr)}
	m.nEmbd = int(llamaModelNEmbd(ptr))
	m.nEmbdOut = int(llamaModelNEmbdOut(ptr))
	m.nVocab = int(llamaVocabNTokens(m.vocab))
	m.nCtxTrain = int(llamaModelNCtxTrain(ptr))
	m.byteTokens = sync.OnceValue(m.findByteTokens)
	return m, nil
}

// describeFailure turns the captured llama.cpp error lines into the reason given in an error.
func describeFailure(errorLines string) string {
	if errorLines == "" {
		return "llama.cpp gave no reason (set a Debug-level logger with SetLogger to see its log)"
	}
	return errorLines
}

// Close frees the model. Further calls do nothing.
func (m *Model) Close() {
	if m.ptr != 0 {
		llamaModelFree(m.ptr)
		m.ptr, m.vocab = 0, 0
	}
}

// NEmbd is the model's embedding width.
func (m *Model) NEmbd() int { return m.nEmbd }

// NCtxTrain is the context length the model was trained with.
func (m *Model) NCtxTrain() int { return m.nCtxTrain }

// NVocab is the number of tokens in the model's vocabulary.
func (m *Model) NVocab() int { return m.nVocab }

// Size is the total size of the model's tensors in bytes.
func (m *Model) Size() uint64 { return llamaModelSize(m.ptr) }

// NParams is the number of parameters in the model.
func (m *Model) NParams() uint64 { return llamaModelNParams(m.ptr) }

// Desc is llama.cpp's one-line description of the model, such as "llama ?B F32".
func (m *Model) Desc() string {
	s, _ := readCString(func(buf *byte, size uintptr) int32 { return llamaModelDesc(m.ptr, buf, size) })
	return s
}

// Meta returns the model's GGUF metadata value for key as text, and whether the key exists.
func (m *Model) Meta(key string) (string, bool) {
	return readCString(func(buf *byte, size uintptr) int32 { return llamaModelMetaValStr(m.ptr, key, buf, size) })
}

// ChatTemplate is the model's default chat template (tokenizer.chat_template), or "" if it has none.
func (m *Model) ChatTemplate() string { return llamaModelChatTemplate(m.ptr, nil) }

// readCString calls a llama.cpp function that writes a NUL-terminated string into a caller buffer and returns
// the full length (or a negative value on failure), growing the buffer until the text fits.
func readCString(call func(buf *byte, size uintptr) int32) (string, bool) {
	buf := make([]byte, 256)
	for {
		n := call(&buf[0], uintptr(len(buf)))
		if n < 0 {
			return "", false
		}
		if int(n) < len(buf) {
			return string(buf[:n]), true
		}
		buf = make([]byte, int(n)+1)
	}
}
