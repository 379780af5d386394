// Package llama binds custos to llama.cpp's prebuilt shared libraries without cgo.
//
// The libraries are llama.cpp release v0.5.0 as unpacked by `make deps` (scripts/deps.sh) into lib/llama.
// They are opened at run time with purego, so custos builds with CGO_ENABLED=0 and a machine without the
// libraries still runs every part of custos that does not serve a model itself.
//
// The Go mirrors of llama.cpp's C structs (cstruct.go) must match that release's llama.h byte for byte:
// layout_test.go checks their sizes and offsets and reads the library's own default parameters back through
// them, so a field that moves fails the tests instead of corrupting memory.
//
// Call Init once with the library folder (ResolveLibDir finds it), then LoadModel, NewContext, NewBatch and
// NewSampler. A Model may be shared by several goroutines; a Context, a Batch and a Sampler belong to one
// goroutine at a time. Everything that holds C memory has a Close method that must be called.
package llama
