package llama

import (
	"fmt"
	"math"
	"unsafe"
)

// Batch is a set of tokens for one Decode, each with its position, the sequences it belongs to and whether
// its logits are wanted. It wraps a llama_batch allocated by llama.cpp; Add writes straight into that C
// memory, so filling a batch costs no C call. It belongs to one goroutine at a time; Close frees it.
type Batch struct {
	c        cBatch
	capacity int
	nSeqMax  int
	n        int
	// Go views of the C arrays of c.
	tokens []Token
	pos    []int32
	nSeqID []int32
	seqID  []unsafe.Pointer // each points at nSeqMax llama_seq_id
	logits []int8
}

// NewBatch allocates a batch of up to nTokens tokens, each in up to nSeqMax sequences. It panics if a size
// is not positive or Init has not succeeded, which are programming errors.
func NewBatch(nTokens, nSeqMax int) *Batch {
	if nTokens < 1 || nSeqMax < 1 || nTokens > math.MaxInt32 || nSeqMax > math.MaxInt32 {
		panic(fmt.Sprintf("llama: NewBatch(%d, %d): sizes must be positive", nTokens, nSeqMax))
	}
	if !initialized() {
		panic(ErrNotInitialized)
	}
	c := llamaBatchInit(int32(nTokens), 0, int32(nSeqMax))
	return &Batch{
		c:        c,
		capacity: nTokens,
		nSeqMax:  nSeqMax,
		tokens:   unsafe.Slice((*Token)(c.token), nTokens),
		pos:      unsafe.Slice((*int32)(c.pos), nTokens),
		nSeqID:   unsafe.Slice((*int32)(c.nSeqID), nTokens),
		seqID:    unsafe.Slice((*unsafe.Pointer)(c.seqID), nTokens),
		logits:   unsafe.Slice((*int8)(c.logits), nTokens),
	}
}

// Clear empties the batch for reuse.
func (b *Batch) Clear() { b.n = 0 }

// Len is the number of tokens in the batch; the next Add gets this index, which Sample and LogitsIth take.
func (b *Batch) Len() int { return b.n }

// Cap is the most tokens the batch holds.
func (b *Batch) Cap() int { return b.capacity }

// Add appends token t at position pos of the sequences seqIDs, asking for its logits if logits is true.
// It panics when the batch is full or seqIDs is empty or longer than the batch's nSeqMax.
func (b *Batch) Add(t Token, pos int32, seqIDs []int32, logits bool) {
	if b.n >= b.capacity {
		panic(fmt.Sprintf("llama: Batch.Add: batch is full (%d tokens)", b.capacity))
	}
	if len(seqIDs) == 0 || len(seqIDs) > b.nSeqMax {
		panic(fmt.Sprintf("llama: Batch.Add: %d sequence ids, want 1 to %d", len(seqIDs), b.nSeqMax))
	}
	i := b.n
	b.tokens[i] = t
	b.pos[i] = pos
	b.nSeqID[i] = int32(len(seqIDs))
	copy(unsafe.Slice((*int32)(b.seqID[i]), b.nSeqMax), seqIDs)
	b.logits[i] = 0
	if logits {
		b.logits[i] = 1
	}
	b.n++
}

// Close frees the batch. Further calls do nothing.
func (b *Batch) Close() {
	if b.c.token != nil {
		llamaBatchFree(b.c)
		*b = Batch{}
	}
}
