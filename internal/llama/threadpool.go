package llama

import (
	"fmt"
	"sync"

	"github.com/ebitengine/purego"
)

// The prebuilt libraries are built without OpenMP. Then, for every graph computation (every Decode), ggml's
// CPU backend starts the worker threads of a disposable thread pool and joins them at the end, unless the
// context has a pool attached; on a 2-core machine that cost made two threads decode up to 3.5 times slower
// than one. A Context therefore owns pools that live as long as it does, as llama-server's contexts do.

// maxThreads is GGML_MAX_N_THREADS of ggml.h: the length of a thread pool's CPU mask, and the most threads
// a pool may have.
const maxThreads = 512

// threadpoolParams mirrors struct ggml_threadpool_params of ggml.h (528 bytes).
type threadpoolParams struct {
	cpumask   [maxThreads]bool // all false: the threads keep the process's affinity
	nThreads  int32
	prio      int32  // enum ggml_sched_priority
	poll      uint32 // 0: idle workers sleep at once; up to 100: they spin longer before sleeping
	strictCPU bool
	paused    bool
	_         [2]byte
}

// DefaultPoll is the polling level of a context's thread pools when ContextParams leaves Poll zero: how long
// an idle worker thread spins waiting for the next graph before it sleeps. llama-server's default is 50.
const DefaultPoll = 50

// NoPoll is the ContextParams.Poll value for worker threads that sleep as soon as they are idle.
const NoPoll = -1

// threadpoolFuncs are ggml_threadpool_new and ggml_threadpool_free of the CPU backend variant
// ggml_backend_load_all_from_path loaded: that library is opened by ggml, not by Init, so its functions are
// found through the backend registry rather than by name.
type threadpoolFuncs struct {
	create func(params *threadpoolParams) uintptr
	free   func(pool uintptr)
}

var cpuThreadpoolFuncs = sync.OnceValues(func() (threadpoolFuncs, error) {
	dev := ggmlBackendDevByType(backendDeviceTypeCPU)
	if dev == 0 {
		return threadpoolFuncs{}, fmt.Errorf("llama: ggml has no CPU device")
	}
	reg := ggmlBackendDevBackendReg(dev)
	var f threadpoolFuncs
	for _, s := range []symbol{{"ggml_threadpool_new", &f.create}, {"ggml_threadpool_free", &f.free}} {
		addr := ggmlBackendRegGetProcAddress(reg, s.name)
		if addr == 0 {
			return threadpoolFuncs{}, fmt.Errorf("llama: the CPU backend has no %s", s.name)
		}
		purego.RegisterFunc(s.fn, addr)
	}
	return f, nil
})

// backendDeviceTypeCPU is GGML_BACKEND_DEVICE_TYPE_CPU of enum ggml_backend_dev_type.
const backendDeviceTypeCPU int32 = 0

// threadpools are the pools of one context: one for single-token Decodes and one for batches, the same
// pool when both thread counts are equal, and a pool of one thread for the Decodes that use one thread
// (see threadchoice.go). Those do not run on a larger pool: its idle workers would still wake up at every
// graph and spin, taking a core from the work that made one thread the faster choice.
type threadpools struct {
	single, batch, one uintptr // struct ggml_threadpool *
}

// newThreadpools creates the pools for threads and threadsBatch worker threads (the calling thread counts as
// one) with polling level poll (0 to 100). When the counts differ, the single-token pool starts paused, as
// llama-server's does: its workers wait without spinning until ggml first computes a graph on it.
func newThreadpools(threads, threadsBatch int, poll uint32) (threadpools, error) {
	f, err := cpuThreadpoolFuncs()
	if err != nil {
		return threadpools{}, err
	}
	create := func(n int, paused bool) (uintptr, error) {
		var p threadpoolParams
		ggmlThreadpoolParamsInit(&p, int32(n))
		p.poll, p.paused = poll, paused
		pool := f.create(&p)
		if pool == 0 {
			return 0, fmt.Errorf("llama: creating a thread pool of %d threads failed", n)
		}
		return pool, nil
	}
	var tp threadpools
	if threadsBatch != threads {
		if tp.batch, err = create(threadsBatch, false); err != nil {
			return threadpools{}, err
		}
	}
	if tp.single, err = create(threads, threadsBatch != threads); err != nil {
		tp.free()
		return threadpools{}, err
	}
	if tp.batch == 0 {
		tp.batch = tp.single
	}
	switch {
	case threads == 1:
		tp.one = tp.single
	case threadsBatch == 1:
		tp.one = tp.batch
	default:
		if tp.one, err = create(1, false); err != nil {
			tp.free()
			return threadpools{}, err
		}
	}
	return tp, nil
}

// forThreads is the pool for a graph computed with n threads by a context whose configured pool for
// that kind of Decode is configured.
func (tp *threadpools) forThreads(n int32, configured uintptr) uintptr {
	if n == 1 {
		return tp.one
	}
	return configured
}

// free frees the pools; the context using them must be freed first.
func (tp *threadpools) free() {
	f, _ := cpuThreadpoolFuncs()
	freed := map[uintptr]bool{0: true}
	for _, pool := range []uintptr{tp.single, tp.batch, tp.one} {
		if !freed[pool] {
			f.free(pool)
			freed[pool] = true
		}
	}
	*tp = threadpools{}
}
