package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"custos/internal/app"
	"custos/internal/llama"
	"custos/internal/runner"
)

// runnerCommand runs the embedded engine, `custos runner`, with llama-server's flag names so that the
// supervisor starts either the same way. It exits 1 when the model cannot be loaded, 2 on bad flags.
func runnerCommand(args []string, _, stderr io.Writer) int {
	cfg, addr, ok := parseRunnerFlags(args, stderr)
	if !ok {
		return 2
	}
	// JSON when not on a terminal, as custos serve logs: the supervisor
	// that runs it reads its lines as records, not as text.
	log := app.NewLogger(stderr, "info", "auto")
	llama.SetLogger(log)
	// This process runs one runner and nothing else, so it may tune its own threads.
	cfg.LowerRuntimeMonitor = true
	srv, err := runner.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "custos runner: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := srv.ListenAndServe(ctx, addr); err != nil {
		log.Error("runner failed", "err", err)
		return 1
	}
	return 0
}

// parseRunnerFlags reads the runner's command line into its config and listen address (host:port). It
// reports a usage error on stderr and returns ok false, for exit status 2.
func parseRunnerFlags(args []string, stderr io.Writer) (cfg runner.Config, addr string, ok bool) {
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "127.0.0.1", "listen `address`")
	port := fs.Int("port", 8080, "listen `port`")
	stringFlag(fs, &cfg.ModelPath, "", "GGUF model `file` to serve (required)", "m", "model")
	stringFlag(fs, &cfg.Alias, "", "model `name` in responses (default: the file name)", "alias")
	intFlag(fs, &cfg.CtxSize, 4096, "context size in tokens, split between the slots (0: the model's)", "c", "ctx-size")
	intFlag(fs, &cfg.Parallel, 1, "number of slots decoded together", "np", "parallel")
	intFlag(fs, &cfg.Threads, 0, "CPU threads (default: 1 on machines of up to 2 CPUs, else half the CPUs)", "t", "threads")
	fs.BoolVar(&cfg.AdaptiveThreads, "adaptive-threads", false,
		"use one thread for a kind of decode while it is faster (cores taken by other work); seeded output may then vary with load")
	intFlag(fs, &cfg.NPredict, -1, "most tokens to generate when a request gives no limit (-1: no limit)", "n", "n-predict")
	intFlag(fs, &cfg.BatchSize, 2048, "most tokens per decode", "b", "batch-size")
	fs.BoolVar(&cfg.Embeddings, "embeddings", false, "serve /v1/embeddings instead of completions")
	fs.BoolFunc("jinja", "render the model's Jinja chat template (the default)", func(string) error {
		cfg.NoJinja = false
		return nil
	})
	fs.BoolVar(&cfg.NoJinja, "no-jinja", false, "format chat with llama.cpp's built-in templates; no tools")
	stringFlag(fs, &cfg.ReasoningFormat, "", "where a thinking model's reasoning goes: none (left in the content), "+
		"or auto (default), deepseek, deepseek-legacy (in reasoning_content)", "reasoning-format")
	stringFlag(fs, &cfg.Pooling, "", "pooling of --embeddings: mean (default), cls, last, rank, or none (one vector per token, native /embeddings only)", "pooling")
	for _, name := range []string{"reranking", "rerank"} {
		fs.BoolVar(&cfg.Reranking, name, false, "serve /rerank with a reranking model (--embeddings --pooling rank)")
	}
	stringFlag(fs, &cfg.SlotSavePath, "", "folder where POST /slots/{id}?action=save|restore keeps slots' caches (default: off)", "slot-save-path")
	fs.Func("reasoning-budget", "`tokens` a thinking model may reason for when a chat request does not say (default -1: no bound; 0 ends it at once)", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a whole number of tokens: %q", v)
		}
		cfg.ReasoningBudget = &n
		return nil
	})
	stringFlag(fs, &cfg.ReasoningBudgetMessage, "", "`text` written before the end of a reasoning whose budget is spent", "reasoning-budget-message")
	fs.Func("sse-ping-interval", "`seconds` a stream may stay silent before it gets a ping (default 30; -1 or 0: no pings)", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a whole number of seconds: %q", v)
		}
		cfg.SSEPingInterval = time.Duration(n) * time.Second
		if n <= 0 {
			cfg.SSEPingInterval = -1
		}
		return nil
	})
	fs.BoolVar(&cfg.Props, "props", false, "serve POST /props (which, as in llama-server, changes nothing)")
	fs.BoolVar(&cfg.SPMInfill, "spm-infill", false, "lay /infill prompts out suffix, prefix, middle, for models trained so")
	fs.Func("lora", "LoRA adapter `file` to load at scale 1 (comma-separated for several; repeatable)", func(v string) error {
		return appendLoRA(&cfg.LoRA, v, false)
	})
	fs.Func("lora-scaled", "LoRA adapter to load at a scale, `FILE:SCALE` (comma-separated for several; repeatable)", func(v string) error {
		return appendLoRA(&cfg.LoRA, v, true)
	})
	fs.BoolVar(&cfg.LoRAInitWithoutApply, "lora-init-without-apply", false,
		"load the LoRA adapters at scale 0, to apply later with POST /lora-adapters")
	fs.Int64Var(&cfg.Seed, "seed", -1, "sampling seed for requests that give none (-1: random)")
	stringFlag(fs, &cfg.LibDir, "", "folder of the llama.cpp libraries (default: $CUSTOS_LLAMA_LIB_DIR, then lib/llama)", "lib-dir")
	intFlag(fs, &cfg.TimeoutSecs, 600, "`seconds` a client has to send a request body after its headers", "to", "timeout")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", 8<<20,
		"largest request body in `bytes`, larger ones get 400 (custos's own flag: custos serve passes its max_body_bytes)")
	// What these llama-server flags turn on, the runner always does; a command line written for
	// llama-server runs unchanged. Any other llama-server flag is refused by name.
	for _, f := range []struct{ name, always string }{
		{"metrics", "serves GET /metrics"},
		{"slots", "serves GET /slots"},
		{"cont-batching", "decodes the slots' requests together"},
		{"cb", "decodes the slots' requests together"},
	} {
		fs.BoolFunc(f.name, "accepted as in llama-server: the runner always "+f.always, func(string) error { return nil })
	}
	if err := fs.Parse(args); err != nil {
		return cfg, "", false // the flag package has printed why
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "custos runner: unexpected argument %q\n", fs.Arg(0))
		return cfg, "", false
	}
	if cfg.ModelPath == "" {
		fmt.Fprintln(stderr, "custos runner: give the model with -m/--model FILE.gguf")
		return cfg, "", false
	}
	return cfg, net.JoinHostPort(*host, strconv.Itoa(*port)), true
}

// appendLoRA adds the adapters of one --lora (FILE,...) or --lora-scaled (FILE:SCALE,...) to list, in
// order, as llama-server numbers them.
func appendLoRA(list *[]runner.LoRASpec, value string, scaled bool) error {
	for _, item := range strings.Split(value, ",") {
		spec := runner.LoRASpec{Path: item, Scale: 1}
		if scaled {
			parts := strings.Split(item, ":")
			if len(parts) != 2 {
				return fmt.Errorf("lora-scaled format: FNAME:SCALE, got %q", item)
			}
			scale, err := strconv.ParseFloat(parts[1], 32)
			if err != nil || math.IsNaN(scale) || math.IsInf(scale, 0) {
				return fmt.Errorf("lora-scaled: %q is not a scale", parts[1])
			}
			spec = runner.LoRASpec{Path: parts[0], Scale: float32(scale)}
		}
		if spec.Path == "" {
			return fmt.Errorf("an empty LoRA adapter file name in %q", value)
		}
		*list = append(*list, spec)
	}
	return nil
}

// stringFlag registers one string flag under several names (a short and a long one, as llama-server has).
func stringFlag(fs *flag.FlagSet, p *string, value, usage string, names ...string) {
	for _, n := range names {
		fs.StringVar(p, n, value, usage)
	}
}

// intFlag registers one int flag under several names.
func intFlag(fs *flag.FlagSet, p *int, value int, usage string, names ...string) {
	for _, n := range names {
		fs.IntVar(p, n, value, usage)
	}
}
