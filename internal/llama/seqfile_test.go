package llama

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// seqFileBytes is a session file's header, tokens, stream cell counts and then pad bytes of cell data.
func seqFileBytes(tokens int, cellCounts []uint32, pad int) []byte {
	var b bytes.Buffer
	w := func(v uint32) { _ = binary.Write(&b, binary.LittleEndian, v) }
	w(seqStateMagic)
	w(seqStateVersion)
	w(uint32(tokens))
	for i := range tokens {
		w(uint32(i))
	}
	w(uint32(len(cellCounts)))
	for _, n := range cellCounts {
		w(n)
		if n > 0 { // the cells of the first stream that has them come next
			b.Write(make([]byte, pad))
			break
		}
	}
	return b.Bytes()
}

// TestCheckSeqStateRefusesCountsTheFileCannotHold: a cell count beyond a slot, or beyond what the file can
// hold, is refused before llama.cpp reserves room for it; so are a bad header and a token count past the
// capacity or the file's end. A file as llama.cpp writes it passes, and so do the layouts the check leaves
// to llama.cpp: nothing after the tokens (a model without memory), another memory's own magic.
func TestCheckSeqStateRefusesCountsTheFileCannotHold(t *testing.T) {
	const capacity, cells = 100, 64
	for _, tc := range []struct {
		name string
		data []byte
		says string // "" when the file passes
	}{
		{"as written", seqFileBytes(10, []uint32{0, 10, 0, 0}, 10*minCellBytes+4096), ""},
		{"no cells", seqFileBytes(0, []uint32{0, 0, 0, 0}, 0), ""},
		{"a huge cell count", seqFileBytes(10, []uint32{0x7fffffff, 0, 0, 0}, 4096), "announces 2147483647 cached cells"},
		{"more cells than a slot", seqFileBytes(10, []uint32{cells + 1}, (cells+1)*minCellBytes), "a slot holds 64"},
		{"more cells than the file holds", seqFileBytes(10, []uint32{10}, 9*minCellBytes), "room for 9"},
		{"more tokens than capacity", seqFileBytes(capacity+1, []uint32{0}, 0), "announces 101 tokens"},
		{"cut in the tokens", seqFileBytes(10, []uint32{0}, 0)[:20], "announces 10 tokens"},
		{"cut in the stream count", seqFileBytes(0, nil, 0)[:14], "ends before its stream count"},
		{"nothing after the tokens (no memory)", seqFileBytes(3, nil, 0)[:12+3*4], ""},
		{"another memory's layout", append(seqFileBytes(0, nil, 0)[:12], 0x44, 0x53, 0x56, 0x34, 1, 0, 0, 0), ""},
		{"not a session file", []byte("GGUF\x03\x00\x00\x00...."), "not a session file"},
	} {
		err := checkSeqState(bytes.NewReader(tc.data), int64(len(tc.data)), capacity, cells, false)
		switch {
		case tc.says == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.says)
		}
	}
	// A recurrent model's file has its cell count where a KV cache's has its stream count.
	recurrent := seqFileBytes(3, []uint32{}, 0)
	recurrent = append(recurrent[:len(recurrent)-4], 0xff, 0xff, 0xff, 0x7f)
	if err := checkSeqState(bytes.NewReader(recurrent), int64(len(recurrent)), capacity, cells, true); err == nil ||
		!strings.Contains(err.Error(), "cached cells") {
		t.Errorf("a recurrent file announcing 2147483647 cells: %v", err)
	}
}
