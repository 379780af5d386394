package main

import (
	"flag"
	"fmt"
	"io"

	"custos/internal/config"
)

// checkCommand validates a configuration without starting anything,
// including whether its listen address is free.
func checkCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration `file` (YAML)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *configPath == "" {
		fmt.Fprintln(stderr, "custos check: give --config FILE")
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err == nil {
		err = config.CheckListen(cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, config.Describe(err))
		return 2
	}
	fmt.Fprintf(stdout, "%s: ok (%d models, listen %s)\n", *configPath, len(cfg.Models), cfg.Listen)
	return 0
}
