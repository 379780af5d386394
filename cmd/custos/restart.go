package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
)

func restartCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tgt := targetFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: custos restart [--addr HOST:PORT] MODEL")
		return 2
	}
	c, err := tgt.resolve()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	model := fs.Arg(0)
	var out struct{ Model, Result string }
	if err := c.call("POST", "/admin/models/"+url.PathEscape(model)+"/restart", nil, &out); err != nil {
		fmt.Fprintln(stderr, "custos restart:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", out.Model, out.Result)
	return 0
}
