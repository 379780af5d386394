package runner

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Config is what `custos runner` serves and how; its fields mirror llama-server's flags.
type Config struct {
	// ModelPath is the GGUF model file to serve (required).
	ModelPath string
	// Alias is the model name in responses and /v1/models (default: the file name without .gguf).
	Alias string
	// CtxSize is the KV cache size in tokens, split evenly between the slots (default 0: the model's
	// training context).
	CtxSize int
	// Parallel is the number of slots, requests decoded together (default 1).
	Parallel int
	// Threads is the number of CPU threads for decoding (default DefaultThreads(runtime.NumCPU())).
	Threads int
	// AdaptiveThreads makes Threads a ceiling: a kind of decode uses one thread while one thread has
	// recently been the faster, which keeps a machine whose cores other work takes from collapsing to a
	// few tokens per second. It is off by default because llama.cpp's results depend, in their last bits,
	// on the thread count: with it a seeded request's text may vary with the machine's load.
	AdaptiveThreads bool
	// BatchSize is the most tokens one decode carries, prompt chunks included (default 2048).
	BatchSize int
	// NoJinja formats chat with llama.cpp's built-in templates instead of rendering the model's Jinja chat
	// template (the default, as llama-server's --jinja); tools need Jinja.
	NoJinja bool
	// ReasoningFormat is how a thinking model's reasoning is returned when a request does not say, as
	// llama-server's --reasoning-format: "none" leaves it in the content; "auto" (the default),
	// "deepseek" and "deepseek-legacy" put it in reasoning_content.
	ReasoningFormat string
	// Embeddings serves /v1/embeddings instead of completions, as llama-server's --embeddings does.
	Embeddings bool
	// Pooling is how Embeddings pools a sequence, as llama-server's --pooling: mean (the default), cls,
	// last, or rank (a reranking model's score, served on /rerank).
	Pooling string
	// Reranking serves /rerank instead of completions, as llama-server's --reranking: Embeddings with
	// rank pooling.
	Reranking bool
	// LowerRuntimeMonitor gives the Go runtime's monitor thread the lowest priority once the model is
	// loaded (package sysmon). It changes the whole process, so it is for a process that runs this one
	// runner: `custos runner` sets it.
	LowerRuntimeMonitor bool
	// SlotSavePath is the folder where POST /slots/{id}?action=save writes a slot's cache and restore reads
	// it, as llama-server's --slot-save-path; empty turns the slot actions off (they answer 501).
	SlotSavePath string
	// SPMInfill lays /infill prompts out suffix first, as llama-server's --spm-infill, for models trained on
	// suffix-prefix-middle.
	SPMInfill bool
	// LoRA are the LoRA adapters to load, as llama-server's --lora and --lora-scaled: their ids are their
	// places in this list, and each starts at its scale.
	LoRA []LoRASpec
	// LoRAInitWithoutApply starts every adapter at scale 0, as llama-server's --lora-init-without-apply
	// documents, to be applied by POST /lora-adapters or a request's lora field.
	LoRAInitWithoutApply bool
	// Seed is the sampling seed for requests that give none (default -1: random).
	Seed int64
	// NPredict is the most tokens generated for requests that give no limit (default -1: until the end
	// of generation or a full context).
	NPredict int
	// LibDir is the folder of the llama.cpp libraries (default: see llama.ResolveLibDir).
	LibDir string
	// QueueLimit is how many requests may wait for a free slot before more get 503 (default 64).
	QueueLimit int
	// MaxBodyBytes is the largest request body read; a larger one gets 400 (default 8 MiB). custos serve
	// passes its own max_body_bytes, so that a body its gateway accepts is not refused here.
	MaxBodyBytes int64
	// ReasoningBudget bounds a thinking model's reasoning in tokens when a chat request gives no
	// reasoning_budget_tokens, as llama-server's --reasoning-budget (0 ends it at once); nil: no bound.
	ReasoningBudget *int
	// ReasoningBudgetMessage is written before the end marker a spent budget forces
	// (--reasoning-budget-message).
	ReasoningBudgetMessage string
	// Props serves POST /props, as llama-server's --props; it changes no setting, as in llama-server.
	Props bool
	// SSEPingInterval is how long a stream may stay silent before it gets a ping, an SSE comment, as
	// llama-server's --sse-ping-interval (default 30 s); negative turns pings off.
	SSEPingInterval time.Duration
	// TimeoutSecs is how long a client may take to send its request body after its headers, as
	// llama-server's --timeout bounds its reads (default 600).
	TimeoutSecs int
}

// LoRASpec is one LoRA adapter to load: its GGUF file and the scale it starts at.
type LoRASpec struct {
	Path  string
	Scale float32
}

// Defaults that are not the zero value.
const (
	defaultParallel   = 1
	defaultBatchSize  = 2048
	defaultQueueLimit = 64
	// defaultMaxBodyBytes is above any prompt a default context can hold, far below memory trouble.
	defaultMaxBodyBytes = 8 << 20
	defaultTimeoutSecs  = 600
	// smallMachineCPUs is the CPU count up to which the runner decodes on one thread. Two fixed threads on
	// a 2-CPU machine are 1.5× faster on a large model while nothing else runs, and collapse to a few
	// dozen tokens per second when anything does (ggml's barrier spins while the other thread is off its
	// core); one thread keeps its rate either way and leaves a CPU to the rest of the process. -t 2, or
	// -t 2 --adaptive-threads, is for a machine the runner has to itself (docs/BENCHMARKS.md, "Threads,
	// and the runner against llama-server").
	smallMachineCPUs = 2
)

// DefaultThreads is the decoding thread count for a machine with cpus logical CPUs: one on small machines,
// else half (about the physical cores, which is what matrix work scales with), as llama-server takes
// the physical cores.
func DefaultThreads(cpus int) int {
	if cpus <= smallMachineCPUs {
		return 1
	}
	return cpus / 2
}

// withDefaults returns c with its zero fields filled in and its values checked.
func (c Config) withDefaults() (Config, error) {
	if c.ModelPath == "" {
		return c, errors.New("runner: no model: give -m/--model FILE.gguf")
	}
	if c.Alias == "" {
		c.Alias = strings.TrimSuffix(filepath.Base(c.ModelPath), ".gguf")
	}
	if c.Parallel == 0 {
		c.Parallel = defaultParallel
	}
	if err := c.resolvePooling(); err != nil {
		return c, err
	}
	if c.Threads == 0 {
		c.Threads = DefaultThreads(runtime.NumCPU())
	}
	if c.BatchSize == 0 {
		c.BatchSize = defaultBatchSize
	}
	if c.QueueLimit == 0 {
		c.QueueLimit = defaultQueueLimit
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.TimeoutSecs == 0 {
		c.TimeoutSecs = defaultTimeoutSecs
	}
	if c.SSEPingInterval == 0 {
		c.SSEPingInterval = defaultSSEPingInterval
	}
	if c.ReasoningFormat == "" {
		c.ReasoningFormat = reasoningAuto
	}
	if !validReasoningFormat(c.ReasoningFormat) {
		return c, fmt.Errorf("runner: --reasoning-format %q is not one of none, auto, deepseek, deepseek-legacy", c.ReasoningFormat)
	}
	for _, f := range []struct {
		name  string
		value int
	}{{"ctx-size", c.CtxSize}, {"parallel", c.Parallel}, {"threads", c.Threads}, {"batch-size", c.BatchSize},
		{"queue limit", c.QueueLimit}, {"timeout", c.TimeoutSecs}} {
		if f.value < 0 {
			return c, fmt.Errorf("runner: %s must not be negative, got %d", f.name, f.value)
		}
	}
	if c.BatchSize < c.Parallel {
		return c, fmt.Errorf("runner: batch-size %d is smaller than parallel %d: every slot needs a place in each decode",
			c.BatchSize, c.Parallel)
	}
	if c.MaxBodyBytes < 0 {
		return c, fmt.Errorf("runner: max-body-bytes must not be negative, got %d", c.MaxBodyBytes)
	}
	if c.SlotSavePath != "" {
		if info, err := os.Stat(c.SlotSavePath); err != nil || !info.IsDir() {
			return c, fmt.Errorf("runner: slot-save-path: not a directory: %s", c.SlotSavePath)
		}
	}
	if c.ReasoningBudget != nil && *c.ReasoningBudget < -1 {
		return c, fmt.Errorf("runner: reasoning-budget must be -1 (no bound) or more, got %d", *c.ReasoningBudget)
	}
	for _, l := range c.LoRA {
		if l.Path == "" || math.IsNaN(float64(l.Scale)) || math.IsInf(float64(l.Scale), 0) {
			return c, fmt.Errorf("runner: a LoRA adapter needs a file and a finite scale, got %q at %v", l.Path, l.Scale)
		}
	}
	if c.NPredict < -1 {
		return c, fmt.Errorf("runner: n-predict must be -1 (no limit) or more, got %d", c.NPredict)
	}
	return c, nil
}
