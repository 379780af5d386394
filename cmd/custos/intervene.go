package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"custos/internal/intervention"
)

// pauseCommand: custos pause [--model M] --reason TEXT
func pauseCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pause", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tgt := targetFlags(fs)
	model := fs.String("model", "", "pause only this `model` (default: every model)")
	reason := fs.String("reason", "", "why (required; recorded in the audit log)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if strings.TrimSpace(*reason) == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: custos pause [--model M] --reason TEXT")
		return 2
	}
	return change(tgt, "/admin/pause", map[string]string{"reason": *reason, "model": *model}, stdout, stderr)
}

// resumeCommand: custos resume [--model M]
func resumeCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("resume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tgt := targetFlags(fs)
	model := fs.String("model", "", "resume only this `model` (default: the global pause)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: custos resume [--model M]")
		return 2
	}
	return change(tgt, "/admin/resume", map[string]string{"model": *model}, stdout, stderr)
}

// wellbeingCommand: custos wellbeing STATE --reason TEXT
func wellbeingCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wellbeing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tgt := targetFlags(fs)
	reason := fs.String("reason", "", "why (recorded in the audit log)")
	// Accept the state before or after the flags.
	state := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		state, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if state == "" && fs.NArg() == 1 {
		state = fs.Arg(0)
	} else if fs.NArg() != 0 {
		state = ""
	}
	if _, err := intervention.ParseWellbeing(state); err != nil {
		fmt.Fprintln(stderr, "usage: custos wellbeing healthy|cautious|concerned|distressed --reason TEXT")
		return 2
	}
	return change(tgt, "/admin/wellbeing", map[string]string{"state": state, "reason": *reason}, stdout, stderr)
}

func change(tgt target, path string, body map[string]string, stdout, stderr io.Writer) int {
	c, err := tgt.resolve()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if body["model"] == "" {
		delete(body, "model")
	}
	var out struct {
		Changed bool               `json:"changed"`
		Durable bool               `json:"durable"`
		Warning string             `json:"warning"`
		State   intervention.State `json:"state"`
	}
	if err := c.call("POST", path, body, &out); err != nil {
		fmt.Fprintf(stderr, "custos %s: %v\n", strings.TrimPrefix(path, "/admin/"), err)
		return 1
	}
	what := "done"
	if !out.Changed {
		what = "already so, nothing changed"
	}
	fmt.Fprintf(stdout, "%s: %s\n", strings.TrimPrefix(path, "/admin/"), what)
	if out.Warning != "" {
		fmt.Fprintln(stderr, "warning:", out.Warning)
	}
	return 0
}

// auditCommand: custos audit [--limit N] [--json]
func auditCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tgt := targetFlags(fs)
	limit := fs.Int("limit", 50, "how many of the newest events")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := tgt.resolve()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var out struct {
		Events []intervention.Event `json:"events"`
	}
	if err := c.call("GET", fmt.Sprintf("/admin/audit?limit=%d", *limit), nil, &out); err != nil {
		fmt.Fprintln(stderr, "custos audit:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tACTION\tSCOPE\tCHANGE\tBY\tREASON")
	for _, e := range out.Events {
		by := e.Actor
		if e.Replica != "" {
			by += "@" + e.Replica // the replica of a fleet that made the change
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s → %s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Action, e.Scope, e.Old, e.New, by, e.Reason)
	}
	_ = tw.Flush()
	return 0
}
