// Command bench measures what custos adds to local inference: the latency
// and throughput of its gateway next to the same backend reached
// directly, streaming timings, how fast it notices a backend is ready or
// back after a crash, how fast a pause lets go of its requests, and its
// own memory. Every comparison runs side by side in one run, alternating
// direct and through-custos rounds so that the noise of a shared machine
// falls on both, and prints ratios next to the figures.
//
//	go run ./bench                 # everything, a few minutes
//	go run ./bench -quick          # a smoke run, under a minute
//	go run ./bench -only 'stand-in' -profile .cache/bench
//
// It needs bin/custos and bin/standin (make build) and, for the engine
// scenarios, a GGUF model and the llama.cpp libraries (make run prepares both).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"time"
)

type options struct {
	custos, standin, model string
	runnerLibDir           string
	quick                  bool
	engineRounds           int
	only                   *regexp.Regexp
	profileDir             string
}

func main() {
	if len(os.Args) == 4 && (os.Args[1] == reverseProxyFlag || os.Args[1] == tcpRelayFlag) {
		serve := serveReverseProxy
		if os.Args[1] == tcpRelayFlag {
			serve = serveTCPRelay
		}
		if err := serve(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	var o options
	var only, out string
	flag.StringVar(&o.custos, "custos", "bin/custos", "custos binary")
	flag.StringVar(&o.standin, "standin", "bin/standin", "stand-in backend binary")
	flag.StringVar(&o.model, "model", ".cache/models/tiny-256x4.gguf", "GGUF model for the runner scenarios")
	flag.BoolVar(&o.quick, "quick", false, "fewer, shorter rounds: a smoke run, not figures to publish")
	flag.StringVar(&o.runnerLibDir, "runner-lib-dir", "", "the runner's --lib-dir in the engine/ scenarios (default: its own search)")
	flag.IntVar(&o.engineRounds, "engine-rounds", 3, "rounds of each engine/ measurement (1 with -quick)")
	flag.StringVar(&only, "only", "", "run only the scenarios whose name matches this regular expression")
	flag.StringVar(&o.profileDir, "profile", "", "save a CPU profile of custos under load in this folder")
	flag.StringVar(&out, "out", "", "also write the report (Markdown) to this file")
	flag.Parse()
	var err error
	if o.only, err = regexp.Compile(only); err != nil {
		fmt.Fprintf(os.Stderr, "bench: -only: %v\n", err)
		os.Exit(2)
	}
	for _, bin := range []string{o.custos, o.standin} {
		if _, err := os.Stat(bin); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v (run make build first)\n", err)
			os.Exit(2)
		}
	}

	rep := &report{}
	fmt.Fprintf(os.Stderr, "bench: %s, %d CPUs, %s/%s, quick=%v\n", time.Now().Format(time.DateTime), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, o.quick)
	failed := false
	for _, sc := range scenarios() {
		if !o.only.MatchString(sc.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s …\n", sc.name)
		start := time.Now()
		if err := sc.run(&o, rep); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s failed: %v\n", sc.name, err)
			failed = true
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s done in %v\n", sc.name, time.Since(start).Round(time.Second))
	}
	w := io.Writer(os.Stdout)
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	rep.write(w)
	if failed {
		os.Exit(1)
	}
}
