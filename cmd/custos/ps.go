package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"custos/internal/api"
	"custos/internal/memory"
)

// psCommand: custos ps [--json] — each model with its state and why, its
// memory (measured or estimated), its requests, how long it has been idle
// and when it unloads.
func psCommand(args []string, stdout, stderr io.Writer) int {
	st, asJSON, code := fetchStatus("ps", "print JSON", args, stderr)
	if code >= 0 {
		return code
	}
	if asJSON {
		printJSON(stdout, map[string]any{"memory": st.Memory, "models": st.Models})
		return 0
	}
	writePS(stdout, st, time.Now())
	return 0
}

func writePS(w io.Writer, st api.Status, now time.Time) {
	if m := st.Memory; m != nil {
		budget := "none"
		if m.Budget > 0 {
			budget = memory.FormatBytes(m.Budget)
		}
		fmt.Fprintf(w, "memory %s of %s\n", memory.FormatBytes(m.Resident), budget)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tSTATE\tSINCE\tWHY\tMEMORY\tREQUESTS\tWAITING\tIDLE\tUNLOADS")
	for _, m := range st.Models {
		mem, reqs, waiting, idle, unloads := "-", fmt.Sprint(m.InFlight), "0", "-", "-"
		if p := m.Placement; p != nil {
			mem = memory.FormatBytes(p.Memory) + " est."
			if p.Measured {
				mem = memory.FormatBytes(p.Memory) + " measured"
			}
			if p.Resident > 0 && !p.Measured {
				mem += " (" + memory.FormatBytes(p.Resident) + " resident)"
			}
			reqs, waiting = fmt.Sprint(p.Requests), fmt.Sprint(p.Waiting)
			if p.Requests == 0 && p.Waiting == 0 && !p.LastUsed.IsZero() {
				idle = now.Sub(p.LastUsed).Round(time.Second).String()
			}
			switch {
			case p.Pinned:
				unloads = "pinned"
			case !p.UnloadsAt.IsZero():
				unloads = "in " + max(p.UnloadsAt.Sub(now), 0).Round(time.Second).String()
			case p.TTL == 0 && p.Loaded:
				unloads = "no ttl"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Model, m.State, now.Sub(m.Since).Round(time.Second), orDash(m.Reason),
			mem, reqs, waiting, idle, unloads)
	}
	_ = tw.Flush()
}
