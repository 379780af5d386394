package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
)

// modelActionCommand: custos restart|load|unload [--addr HOST:PORT] MODEL,
// a POST to /admin/models/MODEL/<verb>.
func modelActionCommand(verb string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	tgt := targetFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The model may come before the flags as well as after them.
	model := fs.Arg(0)
	if fs.NArg() > 0 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
	}
	if model == "" || fs.NArg() != 0 {
		fmt.Fprintf(stderr, "usage: custos %s [--addr HOST:PORT] MODEL\n", verb)
		return 2
	}
	c, err := tgt.resolve()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var out struct{ Model, Result string }
	if err := c.call("POST", "/admin/models/"+url.PathEscape(model)+"/"+verb, nil, &out); err != nil {
		fmt.Fprintf(stderr, "custos %s: %v\n", verb, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", out.Model, out.Result)
	return 0
}
