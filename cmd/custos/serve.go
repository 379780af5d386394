package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"custos/internal/app"
	"custos/internal/config"
)

func serveCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `file` (YAML)")
	modelPath := fs.String("model", "", "serve this GGUF `file` on the embedded engine, with defaults (no --config)")
	listen := fs.String("listen", "", "listen `address` (overrides the configuration; default "+config.DefaultListen+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, code := loadServeConfig(*configPath, *modelPath, *listen, stderr)
	if cfg == nil {
		return code
	}
	log := app.NewLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	app.LimitProcs(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go forceExitOnSecondSignal(ctx, stderr)

	err := app.Serve(ctx, cfg, app.Options{Version: version, Logger: log})
	var cerr *config.Error
	switch {
	case errors.As(err, &cerr):
		fmt.Fprintln(stderr, config.Describe(err))
		return 2
	case err != nil:
		log.Error("custos failed", "err", err)
		return 1
	}
	return 0
}

// loadServeConfig returns the configuration, or nil and the exit status.
func loadServeConfig(configPath, modelPath, listen string, stderr io.Writer) (*config.Config, int) {
	var cfg *config.Config
	var err error
	switch {
	case configPath != "" && modelPath != "":
		fmt.Fprintln(stderr, "custos serve: give --config or --model, not both")
		return nil, 2
	case configPath != "":
		cfg, err = config.LoadWith(configPath, config.Overrides{Listen: listen})
	case modelPath != "":
		addr := listen
		if addr == "" {
			addr = config.DefaultListen
		}
		cfg, err = config.FromModelFile(modelPath, addr)
	default:
		fmt.Fprintln(stderr, "custos serve: give --config FILE or --model FILE.gguf")
		return nil, 2
	}
	if err != nil {
		fmt.Fprintln(stderr, config.Describe(err))
		return nil, 2
	}
	return cfg, 0
}

// forceExitOnSecondSignal lets an operator cut a slow drain short: the
// first SIGINT/SIGTERM drains, the second exits at once (backends die with
// custos through their parent-death signal).
func forceExitOnSecondSignal(ctx context.Context, stderr io.Writer) {
	<-ctx.Done()
	again := make(chan os.Signal, 1)
	signal.Notify(again, syscall.SIGTERM, syscall.SIGINT)
	<-again
	fmt.Fprintln(stderr, "custos: second signal, exiting now")
	os.Exit(1)
}
