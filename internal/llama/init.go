package llama

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/ebitengine/purego"
)

// ErrNotInitialized is returned by functions that need the libraries before Init succeeded.
var ErrNotInitialized = errors.New("llama: Init has not loaded the llama.cpp libraries")

var initState struct {
	mu  sync.Mutex
	dir string // the library folder once Init succeeded
}

var logCallbackOnce = sync.OnceValue(func() uintptr { return purego.NewCallback(logCallback) })

// Init loads the llama.cpp libraries from libDir (see ResolveLibDir) and initialises the backend: it opens
// libggml-base, libggml and libllama in dependency order with their symbols global, routes llama.cpp's log to
// SetLogger's logger, lets ggml pick the best CPU variant for this machine from the libggml-cpu-*.so files,
// then calls llama_backend_init. It is idempotent; a second call naming another folder is an error, since
// a process cannot hold two copies of the libraries.
func Init(libDir string) error {
	abs, err := filepath.Abs(libDir)
	if err != nil {
		return fmt.Errorf("llama library folder %q: %w", libDir, err)
	}
	initState.mu.Lock()
	defer initState.mu.Unlock()
	if initState.dir != "" {
		if initState.dir == abs {
			return nil
		}
		return fmt.Errorf("llama: libraries already loaded from %s, cannot load them from %s too", initState.dir, abs)
	}
	if err := checkLibDir(abs); err != nil {
		return err
	}
	var handles [3]uintptr
	for i, name := range []string{libGGMLBase, libGGML, libLlama} {
		h, err := purego.Dlopen(filepath.Join(abs, name), purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			return fmt.Errorf("llama: loading %s: %w", filepath.Join(abs, name), err)
		}
		handles[i] = h
	}
	if err := bindSymbols(handles[0], libGGMLBase, ggmlBaseSymbols); err != nil {
		return err
	}
	if err := bindSymbols(handles[1], libGGML, ggmlSymbols); err != nil {
		return err
	}
	if err := bindSymbols(handles[2], libLlama, llamaSymbols); err != nil {
		return err
	}
	llamaLogSet(logCallbackOnce(), 0)
	ggmlBackendLoadAllFromPath(abs)
	if ggmlBackendDevCount() == 0 {
		return fmt.Errorf("llama: no CPU backend could be loaded from %s (libggml-cpu-*.so): %s", abs, fixHint)
	}
	llamaBackendInit()
	initState.dir = abs
	return nil
}

// initialized reports whether Init has succeeded.
func initialized() bool {
	initState.mu.Lock()
	defer initState.mu.Unlock()
	return initState.dir != ""
}

// SystemInfo describes the CPU features the loaded ggml backend uses (llama_print_system_info), for logs
// and benchmarks. It is "" before Init.
func SystemInfo() string {
	if !initialized() {
		return ""
	}
	return llamaPrintSystemInfo()
}
