package llama

import (
	"sync"

	"github.com/ebitengine/purego"
)

// purego can create only a limited number of C callbacks per process and never frees them, so there is a
// single progress callback for every model load; the user-data pointer llama.cpp hands back carries the id
// of the Go function to call.
var progress struct {
	once     sync.Once
	callback uintptr
	mu       sync.Mutex
	nextID   uintptr
	funcs    map[uintptr]func(float32) bool
}

// registerProgress makes fn reachable from the shared C callback and returns the callback and the
// user-data value to put in llama_model_params. The returned release must be called after the load.
func registerProgress(fn func(float32) bool) (callback, userData uintptr, release func()) {
	progress.once.Do(func() {
		progress.funcs = make(map[uintptr]func(float32) bool)
		progress.callback = purego.NewCallback(progressCallback)
	})
	progress.mu.Lock()
	defer progress.mu.Unlock()
	progress.nextID++
	id := progress.nextID
	progress.funcs[id] = fn
	return progress.callback, id, func() {
		progress.mu.Lock()
		defer progress.mu.Unlock()
		delete(progress.funcs, id)
	}
}

// progressCallback has the signature of llama_progress_callback: returning false aborts the load.
func progressCallback(fraction float32, userData uintptr) bool {
	progress.mu.Lock()
	fn := progress.funcs[userData]
	progress.mu.Unlock()
	if fn == nil {
		return true
	}
	return fn(fraction)
}
