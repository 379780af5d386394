package llama

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// A sequence's session file (llama_state_seq_save_file) is the magic and version, the token count and the
// tokens, then the KV cache: the stream count, and per stream a cell count, its cells' metadata and their
// keys and values. llama.cpp reserves room for every cell a stream's count announces before it reads one:
// a corrupt count would have it allocate, and touch, tens of gigabytes, which no error return catches, in
// the process that serves every other request. So the file is checked here first, as far as its layout
// does not depend on the model: the header, and the cell counts up to the first stream that has cells.
// A memory laid out otherwise (DeepSeek V4's) is left to llama.cpp.
// A recurrent model's memory (one state per sequence) has no streams: its cell count comes first.

const (
	seqStateMagic   = 0x67677371 // LLAMA_STATE_SEQ_MAGIC, 'ggsq'
	seqStateVersion = 3          // LLAMA_STATE_SEQ_VERSION of this release
	// minCellBytes is the least metadata a restorable cell takes: its position, its count of sequence ids
	// (which must be 1) and that id; a recurrent cell has no id.
	minCellBytes          = 12
	minRecurrentCellBytes = 8
	// maxStreams bounds what may be a KV cache's stream count, one stream per sequence at most.
	maxStreams = 1 << 16
)

// checkSeqFile checks the session file at path before llama.cpp reads it: a file of at most tokenCapacity
// tokens whose first stream with cells holds at most maxCells of them, each of which the file has room for.
// recurrent is a recurrent model's layout.
func checkSeqFile(path string, tokenCapacity, maxCells int, recurrent bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return checkSeqState(f, info.Size(), tokenCapacity, maxCells, recurrent)
}

// checkSeqState is checkSeqFile on the size bytes of r.
func checkSeqState(r io.ReaderAt, size int64, tokenCapacity, maxCells int, recurrent bool) error {
	at := int64(0)
	u32 := func(what string) (uint32, error) {
		var b [4]byte
		if _, err := r.ReadAt(b[:], at); err != nil {
			return 0, fmt.Errorf("the session file ends before its %s", what)
		}
		at += 4
		return binary.LittleEndian.Uint32(b[:]), nil
	}
	magic, err := u32("magic")
	if err != nil {
		return err
	}
	version, err := u32("version")
	if err != nil {
		return err
	}
	if magic != seqStateMagic || version != seqStateVersion {
		return fmt.Errorf("not a session file of this llama.cpp release (magic %08x, version %d)", magic, version)
	}
	tokens, err := u32("token count")
	if err != nil {
		return err
	}
	if int64(tokens) > int64(tokenCapacity) || int64(tokens)*4 > size-at {
		return fmt.Errorf("the session file announces %d tokens; it holds at most %d", tokens, min(int64(tokenCapacity), (size-at)/4))
	}
	at += int64(tokens) * 4
	checkCells := func(cells uint32, cellBytes int64) error {
		if room := (size - at) / cellBytes; int64(cells) > int64(maxCells) || int64(cells) > room {
			return fmt.Errorf("the session file announces %d cached cells; a slot holds %d and the file has room for %d",
				cells, maxCells, room)
		}
		return nil
	}
	if recurrent {
		cells, err := u32("cell count")
		if err != nil {
			return err
		}
		return checkCells(cells, minRecurrentCellBytes)
	}
	if at == size {
		return nil // a model without memory (an encoder) saves nothing after the tokens
	}
	streams, err := u32("stream count")
	if err != nil {
		return err
	}
	if streams > maxStreams {
		// Not a KV cache's stream count: a memory of another layout (DeepSeek V4's starts with a magic of its
		// own), whose checks are llama.cpp's; a KV cache refuses a count other than its own at once.
		return nil
	}
	for range streams {
		cells, err := u32("cell count")
		if err != nil {
			return err
		}
		if cells == 0 {
			continue
		}
		// The cells' layout depends on the model: llama.cpp reads and checks them.
		return checkCells(cells, minCellBytes)
	}
	return nil
}
