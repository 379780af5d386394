package llama

import (
	"os"
	"slices"
	"testing"
)

// osThreads counts the threads of this process. ggml's pool workers are threads of their own; Go's runtime
// threads come and go beside them, so tests compare counts with a margin.
func osThreads(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatalf("counting threads: %v", err)
	}
	return len(entries)
}

// runtimeThreadMargin is how many threads Go's runtime may start while a test runs (a call into C can
// make the scheduler start one more thread to run the other goroutines).
const runtimeThreadMargin = 4

// TestMultiThreadContextKeepsItsPoolAlive checks that a context's worker threads exist while it is open,
// which is what makes a Decode not start and join threads of its own.
func TestMultiThreadContextKeepsItsPoolAlive(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	newContext(t, m, ContextParams{NCtx: 256, NThreads: 1}).Close() // let the runtime settle its threads
	before := osThreads(t)
	c := newContext(t, m, ContextParams{NCtx: 256, NThreads: 4})
	if c.pools.single == 0 || c.pools.batch != c.pools.single {
		t.Fatalf("context with 4 threads has pools %+v, want one pool for both kinds of Decode", c.pools)
	}
	if open := osThreads(t); open < before+3 {
		t.Fatalf("with a 4-thread context open the process has %d threads, %d before: want 3 pool workers more", open, before)
	}
	generate(t, m, c, tokens(t, m, testPrompt), 8, SamplerParams{})
}

// TestContextPoolsDecodeAsOneThread compares, on the same prompt, the logits and greedy tokens of contexts
// with one pool of 2 threads and with two pools of different sizes against a single-threaded context.
func TestContextPoolsDecodeAsOneThread(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	prompt := tokens(t, m, testPrompt)
	promptLogits := func(c *Context) []float32 {
		b := newBatch(t, len(prompt), 1)
		fillPrompt(b, prompt, 0, 0)
		decode(t, c, b)
		defer c.ClearMemory()
		return c.LogitsIth(int32(len(prompt) - 1))
	}
	one := newContext(t, m, ContextParams{NCtx: 256, NThreads: 1})
	wantLogits := promptLogits(one)
	want := generate(t, m, one, prompt, 24, SamplerParams{})
	for _, p := range []ContextParams{
		{NCtx: 256, NThreads: 2},
		{NCtx: 256, NThreads: 2, Poll: NoPoll},
		{NCtx: 256, NThreads: 1, NThreadsBatch: 2},
		{NCtx: 256, NThreads: 3, NThreadsBatch: 2},
	} {
		c := newContext(t, m, p)
		if p.NThreadsBatch != 0 && c.pools.batch == c.pools.single {
			t.Errorf("%+v: one pool for thread counts that differ", p)
		}
		assertClose(t, promptLogits(c), wantLogits)
		if got := generate(t, m, c, prompt, 24, SamplerParams{}); !slices.Equal(got, want) {
			t.Errorf("%+v generated\n%v\none thread generated\n%v", p, got, want)
		}
	}
}

// TestContextCloseFreesItsPools opens and closes many multi-thread contexts, and pools of different sizes
// through SetThreads, and expects the thread count to come back: a leaked pool keeps its workers.
func TestContextCloseFreesItsPools(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	newContext(t, m, ContextParams{NCtx: 256, NThreads: 4}).Close()
	before := osThreads(t)
	const cycles = 40
	for range cycles {
		c, err := NewContext(m, ContextParams{NCtx: 256, NThreads: 4, NThreadsBatch: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetThreads(3, 3); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if after := osThreads(t); after > before+runtimeThreadMargin {
		t.Fatalf("after %d contexts of 4+2 then 3 threads the process has %d threads, %d before: pools leaked", cycles, after, before)
	}
}

func TestContextRejectsBadThreadSettings(t *testing.T) {
	m := loadModel(t, smallModelOptions)
	for _, p := range []ContextParams{{Poll: 101}, {Poll: -2}, {NThreads: maxThreads + 1}} {
		if c, err := NewContext(m, p); err == nil {
			c.Close()
			t.Errorf("NewContext(%+v) succeeded", p)
		}
	}
	c := newContext(t, m, ContextParams{NCtx: 256})
	if err := c.SetThreads(0, 1); err == nil {
		t.Error("SetThreads(0, 1) succeeded")
	}
}

// TestOneThreadDecodesGetAPoolWithoutWorkers: a Decode that uses one thread must not run on a larger pool,
// whose idle workers would wake and spin at each of its graphs.
func TestOneThreadDecodesGetAPoolWithoutWorkers(t *testing.T) {
	initLibraries(t)
	for _, counts := range [][2]int{{2, 2}, {1, 2}, {2, 1}, {3, 2}} {
		tp, err := newThreadpools(counts[0], counts[1], DefaultPoll)
		if err != nil {
			t.Fatal(err)
		}
		if tp.one == 0 || tp.forThreads(1, tp.single) != tp.one || tp.forThreads(1, tp.batch) != tp.one {
			t.Errorf("threads %v: one thread gets pool %#x of %+v", counts, tp.forThreads(1, tp.single), tp)
		}
		if got := tp.forThreads(int32(counts[1]), tp.batch); counts[1] > 1 && got != tp.batch {
			t.Errorf("threads %v: %d batch threads get pool %#x of %+v", counts, counts[1], got, tp)
		}
		if counts[0] > 1 && counts[1] > 1 && (tp.one == tp.single || tp.one == tp.batch) {
			t.Errorf("threads %v: the one-thread pool is a pool with workers: %+v", counts, tp)
		}
		tp.free()
	}
}
