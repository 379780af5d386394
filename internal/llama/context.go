package llama

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// ContextParams says how to create a Context. Zero fields take the defaults named in their comments.
type ContextParams struct {
	// NCtx is the KV cache size in tokens, shared by all sequences (default: the model's training context).
	// llama.cpp may adjust it (it gives each sequence at least 256 tokens); NCtx tells the size it chose.
	NCtx int
	// NBatch is the most tokens one Decode may carry (default 2048).
	NBatch int
	// NUBatch is the most tokens computed in one pass inside a Decode (default 512).
	NUBatch int
	// NSeqMax is the number of distinct sequences (parallel slots) the context keeps (default 1).
	NSeqMax int
	// NThreads is the number of threads for a Decode of a single token (default DefaultThreads).
	NThreads int
	// NThreadsBatch is the number of threads for a Decode of several tokens: prompts, and steps carrying
	// several sequences (default NThreads).
	NThreadsBatch int
	// FixedThreads makes every Decode use NThreads or NThreadsBatch. Without it they are ceilings: a kind
	// of Decode uses one thread while one thread has recently been faster (see threadchoice.go).
	FixedThreads bool
	// Poll is how long the context's idle worker threads spin waiting for the next Decode before they
	// sleep, from 1 to 100 (default DefaultPoll); NoPoll makes them sleep at once.
	Poll int
	// Embeddings makes the context compute pooled embeddings per sequence for EmbeddingsSeq.
	Embeddings bool
	// Pooling is how Embeddings pools a sequence (default PoolingMean).
	Pooling Pooling
	// KVUnified shares one KV buffer between all sequences, so one sequence may use the whole NCtx and
	// SeqCopy between sequences is cheap. Without it each sequence gets NCtx/NSeqMax cells (see NCtxSeq),
	// as llama-server's slots do.
	KVUnified bool
}

// DefaultThreads is the thread count used when ContextParams leaves it zero, for single-token and
// multi-token Decodes alike: one, which suits any machine. The runner chooses by the machine's CPUs
// instead (runner.DefaultThreads; measured in docs/BENCHMARKS.md, "Threads, and the runner against
// llama-server").
const DefaultThreads = 1

// Errors of Decode, after llama_decode's return codes.
var (
	// ErrNoKVSlot means the KV cache has no room for the batch (return code 1): free sequences or split it.
	ErrNoKVSlot = errors.New("llama: no room in the KV cache for the batch")
	// ErrDecodeAborted means the decode was aborted (return code 2).
	ErrDecodeAborted = errors.New("llama: decode aborted")
	// ErrEmptyBatch means Decode was given a batch without tokens.
	ErrEmptyBatch = errors.New("llama: decode of an empty batch")
)

// Context is a llama.cpp inference context: a KV cache holding up to NSeqMax sequences, and the outputs of
// the last Decode. It belongs to one goroutine at a time.
type Context struct {
	ptr      uintptr // llama_context *
	mem      uintptr // llama_memory_t
	nVocab   int
	nEmbdOut int
	// nSeqOut is the length of a sequence's pooled output: nEmbdOut, or the scores of rank pooling.
	nSeqOut int
	// pooling is the pooling of a context made with Embeddings, else zero.
	pooling Pooling
	// nBatch, nSeqMax and kvUnified bound what the context accepts: llama.cpp aborts the process on a
	// batch larger than nBatch, a sequence id out of range, or a partial copy between sequences that do not
	// share a KV buffer.
	nBatch    int
	nSeqMax   int32
	kvUnified bool
	// recurrent is a model whose memory holds one state per sequence, not a KV cache: its session files are
	// laid out otherwise (see checkSeqFile).
	recurrent bool
	// pools are the worker threads Decode runs on, kept for the context's life (see threadpool.go).
	pools threadpools
	poll  uint32
	// threads and threadsBatch are the configured counts, applied what llama.cpp was last told, and choice
	// times Decodes to pick between the configured count and one thread, unless fixedThreads.
	threads, threadsBatch int32
	applied               [2]int32
	choice                threadChoice
	fixedThreads          bool
	// outputs marks which positions of the last decoded batch asked for logits: llama_sampler_sample
	// aborts the whole process on any other index, so Sample checks it first.
	outputs []bool
}

// NewContext creates a context for m.
func NewContext(m *Model, p ContextParams) (*Context, error) {
	params, err := contextParamsFor(p)
	if err != nil {
		return nil, err
	}
	poll, err := pollLevel(p.Poll)
	if err != nil {
		return nil, err
	}
	ptr, errorLines := callReportingError(func() uintptr { return llamaInitFromModel(m.ptr, params) })
	if ptr == 0 {
		return nil, fmt.Errorf("llama: creating a context: %s", describeFailure(errorLines))
	}
	c := &Context{ptr: ptr, mem: llamaGetMemory(ptr), nVocab: m.nVocab, nEmbdOut: m.nEmbdOut,
		nSeqOut: seqOutputs(m, p), pooling: poolingOf(p), nBatch: int(llamaNBatch(ptr)),
		nSeqMax: int32(llamaNSeqMax(ptr)), kvUnified: p.KVUnified, poll: poll,
		fixedThreads: p.FixedThreads, recurrent: llamaModelIsRecurrent(m.ptr)}
	if err := c.SetThreads(int(params.nThreads), int(params.nThreadsBatch)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// pollLevel is ggml's polling level for ContextParams.Poll.
func pollLevel(poll int) (uint32, error) {
	switch {
	case poll == 0:
		return DefaultPoll, nil
	case poll == NoPoll:
		return 0, nil
	case poll < 0 || poll > 100:
		return 0, fmt.Errorf("llama: context parameter Poll = %d is out of range (1 to 100, or NoPoll)", poll)
	}
	return uint32(poll), nil
}

// contextParamsFor fills llama.cpp's context parameters from p: its own defaults, then p's fields.
func contextParamsFor(p ContextParams) (contextParams, error) {
	for _, f := range []struct {
		name  string
		value int
	}{{"NCtx", p.NCtx}, {"NBatch", p.NBatch}, {"NUBatch", p.NUBatch}, {"NSeqMax", p.NSeqMax},
		{"NThreads", p.NThreads}, {"NThreadsBatch", p.NThreadsBatch}} {
		if f.value < 0 || f.value > math.MaxInt32 {
			return contextParams{}, fmt.Errorf("llama: context parameter %s = %d is out of range", f.name, f.value)
		}
	}
	if p.NThreads > maxThreads || p.NThreadsBatch > maxThreads {
		return contextParams{}, fmt.Errorf("llama: at most %d threads", maxThreads)
	}
	if !initialized() {
		return contextParams{}, ErrNotInitialized
	}
	params := llamaContextDefaultParams()
	params.nCtx = uint32(p.NCtx)
	if p.NBatch > 0 {
		params.nBatch = uint32(p.NBatch)
	}
	if p.NUBatch > 0 {
		params.nUBatch = uint32(p.NUBatch)
	}
	if p.NSeqMax > 0 {
		params.nSeqMax = uint32(p.NSeqMax)
	}
	threads := p.NThreads
	if threads == 0 {
		threads = DefaultThreads
	}
	threadsBatch := p.NThreadsBatch
	if threadsBatch == 0 {
		threadsBatch = threads
	}
	params.nThreads, params.nThreadsBatch = int32(threads), int32(threadsBatch)
	params.embeddings = p.Embeddings
	if p.Embeddings {
		params.poolingType = poolingMean
		if p.Pooling != 0 {
			params.poolingType = cPooling(p.Pooling)
		}
	}
	params.kvUnified = p.KVUnified
	return params, nil
}

// Close frees the context and its thread pools. Further calls do nothing.
func (c *Context) Close() {
	if c.ptr != 0 {
		llamaFree(c.ptr)
		c.ptr, c.mem = 0, 0
		c.pools.free()
	}
}

// NCtx is the context's KV cache size in tokens.
func (c *Context) NCtx() int { return int(llamaNCtx(c.ptr)) }

// NBatch is the most tokens one Decode may carry.
func (c *Context) NBatch() int { return c.nBatch }

// NCtxSeq is the most tokens one sequence may hold: NCtx, or NCtx/NSeqMax without KVUnified.
func (c *Context) NCtxSeq() int { return int(llamaNCtxSeq(c.ptr)) }

// SetThreads changes the thread counts for single-token and for multi-token Decodes (see ContextParams),
// replacing the context's thread pools with pools of those sizes.
func (c *Context) SetThreads(threads, threadsBatch int) error {
	if threads < 1 || threadsBatch < 1 || threads > maxThreads || threadsBatch > maxThreads {
		return fmt.Errorf("llama: SetThreads(%d, %d): thread counts go from 1 to %d", threads, threadsBatch, maxThreads)
	}
	pools, err := newThreadpools(threads, threadsBatch, c.poll)
	if err != nil {
		return err
	}
	old := c.pools
	c.pools = pools
	c.threads, c.threadsBatch = int32(threads), int32(threadsBatch)
	c.choice = threadChoice{}
	c.applied = [2]int32{}
	c.applyThreads(c.threads, c.threadsBatch)
	old.free()
	return nil
}

// applyThreads tells llama.cpp the thread counts, and attaches the pools of those sizes, for single-token
// and for multi-token graphs, if they changed.
func (c *Context) applyThreads(threads, threadsBatch int32) {
	if c.applied != [2]int32{threads, threadsBatch} {
		llamaSetNThreads(c.ptr, threads, threadsBatch)
		llamaAttachThreadpool(c.ptr, c.pools.forThreads(threads, c.pools.single), c.pools.forThreads(threadsBatch, c.pools.batch))
		c.applied = [2]int32{threads, threadsBatch}
	}
}

// decodeThreads sets the thread count for a Decode of nTokens and returns the choice made, or -1 when
// there is none to make.
func (c *Context) decodeThreads(nTokens int) int {
	configured := c.threadsBatch
	if nTokens == 1 {
		configured = c.threads
	}
	if c.fixedThreads || configured == 1 {
		return -1
	}
	choice := c.choice.pick(decodeSize(nTokens))
	n := configured
	if choice == useOneThread {
		n = 1
	}
	if nTokens == 1 {
		c.applyThreads(n, c.applied[1])
	} else {
		c.applyThreads(c.applied[0], n)
	}
	return choice
}

// Decode runs the model over the batch, adding its tokens to the KV cache and computing the outputs asked
// for with Batch.Add's logits flag. It returns ErrNoKVSlot when the cache is full, ErrDecodeAborted, or an
// error carrying llama.cpp's reason for a rejected batch or a fatal failure.
func (c *Context) Decode(b *Batch) error {
	if b.n == 0 {
		return ErrEmptyBatch
	}
	if b.n > c.nBatch {
		return fmt.Errorf("llama: batch of %d tokens exceeds the context's NBatch of %d", b.n, c.nBatch)
	}
	b.c.nTokens = int32(b.n)
	c.outputs = c.outputs[:0]
	libraryLog.takeErrors()
	choice := c.decodeThreads(b.n)
	start := time.Now()
	rc := llamaDecode(c.ptr, b.c)
	if rc == 0 && choice >= 0 {
		c.choice.record(b.n, choice, time.Since(start))
	}
	switch {
	case rc == 0:
		for _, l := range b.logits[:b.n] {
			c.outputs = append(c.outputs, l != 0)
		}
		return nil
	case rc == 1:
		return ErrNoKVSlot
	case rc == 2:
		return ErrDecodeAborted
	case rc == -1:
		return fmt.Errorf("llama: decode rejected the batch: %s", describeFailure(libraryLog.takeErrors()))
	default:
		return fmt.Errorf("llama: decode failed (code %d): %s", rc, describeFailure(libraryLog.takeErrors()))
	}
}

// hasOutput reports whether position idx of the last decoded batch has logits; a negative idx counts from
// the last output, as llama.cpp allows.
func (c *Context) hasOutput(idx int32) bool {
	if idx >= 0 {
		return int(idx) < len(c.outputs) && c.outputs[idx]
	}
	n := 0
	for _, o := range c.outputs {
		if o {
			n++
		}
	}
	return int(-idx) <= n
}

// SeqRemove removes the tokens of sequence seq at positions [p0, p1) from the KV cache; p1 < 0 means to
// the end, and seq < 0 means every sequence. It reports false when a part of a sequence cannot be removed
// (removing a whole sequence never fails). It panics on a sequence id the context does not have.
func (c *Context) SeqRemove(seq int32, p0, p1 int32) bool {
	if seq >= 0 {
		c.checkSeq("SeqRemove", seq)
	}
	return llamaMemorySeqRm(c.mem, max(seq, -1), p0, p1)
}

// SeqCopy makes the tokens of sequence src at positions [p0, p1) part of sequence dst too (p1 < 0: to the
// end). Without KVUnified only whole sequences can be copied. It panics on a sequence id the context does
// not have or on a partial copy it cannot do.
func (c *Context) SeqCopy(src, dst int32, p0, p1 int32) {
	c.checkSeq("SeqCopy", src)
	c.checkSeq("SeqCopy", dst)
	if !c.kvUnified && src != dst && (p0 > 0 || p1 >= 0) {
		panic(fmt.Sprintf("llama: SeqCopy(%d, %d, %d, %d): copying part of a sequence needs ContextParams.KVUnified", src, dst, p0, p1))
	}
	llamaMemorySeqCp(c.mem, src, dst, p0, p1)
}

// SeqPosMax is the largest position sequence seq holds in the KV cache, or -1 when it is empty. It panics
// on a sequence id the context does not have.
func (c *Context) SeqPosMax(seq int32) int32 {
	c.checkSeq("SeqPosMax", seq)
	return llamaMemorySeqPosMax(c.mem, seq)
}

// checkSeq panics, naming the call, when seq is not one of the context's sequences: llama.cpp would abort.
func (c *Context) checkSeq(call string, seq int32) {
	if seq < 0 || seq >= c.nSeqMax {
		panic(fmt.Sprintf("llama: %s: sequence %d out of range, the context has %d", call, seq, c.nSeqMax))
	}
}

// ClearMemory empties the KV cache of every sequence.
func (c *Context) ClearMemory() { llamaMemoryClear(c.mem, true) }

// LogitsIth copies the logits (one per vocabulary token) computed for position i of the last decoded batch,
// or returns nil if that position asked for none.
func (c *Context) LogitsIth(i int32) []float32 {
	if !c.hasOutput(i) {
		return nil
	}
	return copyFloats(llamaGetLogitsIth(c.ptr, i), c.nVocab)
}

// EmbeddingsSeq copies the pooled embedding of sequence seq from the last Decode of a context made with
// Embeddings (under PoolingRank, its scores), or returns nil if there is none.
func (c *Context) EmbeddingsSeq(seq int32) []float32 {
	return copyFloats(llamaGetEmbeddingsSeq(c.ptr, seq), c.nSeqOut)
}

// EmbeddingsIth copies the embedding of position i of the last decoded batch, or returns nil if there is none
// (a pooled context keeps only per-sequence embeddings).
func (c *Context) EmbeddingsIth(i int32) []float32 {
	return copyFloats(llamaGetEmbeddingsIth(c.ptr, i), c.nEmbdOut)
}

// copyFloats copies n floats from C memory at p; nil p gives nil.
func copyFloats(p unsafe.Pointer, n int) []float32 {
	if p == nil {
		return nil
	}
	return append([]float32(nil), unsafe.Slice((*float32)(p), n)...)
}
