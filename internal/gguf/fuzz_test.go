package gguf

import (
	"io"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader. It must never panic, and a
// file it accepts must describe tensors that lie inside it and summarise and
// print without failing. Seeds: testdata/fuzz/FuzzRead plus the files below.
// A generated model is not a seed: its 16 KiB vocabulary makes each mutation
// and minimisation slow, and TestReadTruncatedModelAtEveryOffset covers it.
func FuzzRead(f *testing.F) {
	f.Add(smallValidFile())
	f.Add(smallValidFile()[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := readBytes(data)
		if err != nil {
			return
		}
		for _, ti := range file.Tensors {
			end := uint64(file.DataOffset) + ti.Offset + ti.Bytes()
			if end > uint64(len(data)) {
				t.Fatalf("tensor %q ends at %d, past the %d-byte file", ti.Name, end, len(data))
			}
		}
		if err := file.Info().WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}
