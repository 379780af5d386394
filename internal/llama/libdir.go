package llama

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Release is the llama.cpp release whose C API and struct layouts this package mirrors.
const Release = "v0.5.0"

// LibDirEnv names the environment variable that points at the folder holding the libraries.
const LibDirEnv = "CUSTOS_LLAMA_LIB_DIR"

// Library file names inside the library folder. libllama carries the release in its name, so finding it
// is the version check: a folder of another release does not have this exact file.
const (
	libGGMLBase = "libggml-base.so"
	libGGML     = "libggml." + Release + ".so"
	libLlama    = "libllama." + Release + ".so"
)

// fixHint tells the operator how to provide the libraries; every library-folder error ends with it.
const fixHint = "run `make deps` or set " + LibDirEnv + " / --lib-dir"

// ErrLibrariesNotFound is wrapped by every error about a missing or wrong-release library folder.
var ErrLibrariesNotFound = errors.New("llama.cpp " + Release + " libraries not found")

// ResolveLibDir finds the folder holding the llama.cpp libraries: the --lib-dir flag if given, else the
// CUSTOS_LLAMA_LIB_DIR environment variable if set, else lib/llama next to the executable's folder
// (bin/../lib/llama), else lib/llama at the root of the Go module enclosing the working directory (so that
// `go test` and `go run` find what `make deps` unpacked). An explicit flag or variable is never passed over
// for a default: if it points at the wrong folder, that is the error.
func ResolveLibDir(flag string) (string, error) {
	if flag != "" {
		return checkedLibDir(flag, "--lib-dir")
	}
	if env := os.Getenv(LibDirEnv); env != "" {
		return checkedLibDir(env, LibDirEnv)
	}
	var tried []string
	for _, dir := range defaultLibDirs() {
		if checkLibDir(dir) == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("%w (looked for %s in %s): %s", ErrLibrariesNotFound, libLlama, strings.Join(tried, ", "), fixHint)
}

// checkedLibDir validates a folder named explicitly by source (the flag or the variable).
func checkedLibDir(dir, source string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("llama library folder %q from %s: %w", dir, source, err)
	}
	if err := checkLibDir(abs); err != nil {
		return "", fmt.Errorf("llama library folder from %s: %w", source, err)
	}
	return abs, nil
}

// defaultLibDirs lists the folders searched when neither the flag nor the variable is set, in order.
func defaultLibDirs() []string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			dirs = append(dirs, filepath.Join(filepath.Dir(exe), "..", "lib", "llama"))
		}
	}
	if wd, err := os.Getwd(); err == nil {
		if root, ok := moduleRoot(wd); ok {
			dirs = append(dirs, filepath.Join(root, "lib", "llama"))
		}
	}
	for i, d := range dirs {
		dirs[i] = filepath.Clean(d)
	}
	return dirs
}

// moduleRoot walks up from dir to the nearest folder holding a go.mod.
func moduleRoot(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// checkLibDir reports whether dir holds the libraries of the expected release. When it holds another
// release of libllama, the error names the one found, since that means the pinned version changed.
func checkLibDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return fmt.Errorf("%w: %s is not a folder: %s", ErrLibrariesNotFound, dir, fixHint)
	}
	var missing []string
	for _, name := range []string{libGGMLBase, libGGML, libLlama} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if others, _ := filepath.Glob(filepath.Join(dir, "libllama*.so")); len(others) > 0 {
		return fmt.Errorf("%w: %s has %s, custos needs %s (llama.cpp %s): %s",
			ErrLibrariesNotFound, dir, filepath.Base(others[0]), libLlama, Release, fixHint)
	}
	return fmt.Errorf("%w: %s lacks %s: %s", ErrLibrariesNotFound, dir, strings.Join(missing, ", "), fixHint)
}
