package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"custos/internal/api"
)

func statusCommand(args []string, stdout, stderr io.Writer) int {
	st, asJSON, code := fetchStatus("status", "print the raw JSON of GET /status", args, stderr)
	if code >= 0 {
		return code
	}
	if asJSON {
		printJSON(stdout, st)
		return 0
	}
	writeStatus(stdout, st)
	return 0
}

// fetchStatus parses the flags of a command that reads GET /status (verb
// names it in messages) and fetches it; code is the exit status to end
// with, or -1 to go on.
func fetchStatus(verb, jsonUsage string, args []string, stderr io.Writer) (st api.Status, asJSON bool, code int) {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	tgt := targetFlags(fs)
	jsonFlag := fs.Bool("json", false, jsonUsage)
	if err := fs.Parse(args); err != nil {
		return st, false, 2
	}
	c, err := tgt.resolve()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return st, false, 2
	}
	if err := c.call("GET", "/status", nil, &st); err != nil {
		fmt.Fprintf(stderr, "custos %s: %v\n", verb, err)
		return st, false, 1
	}
	return st, *jsonFlag, -1
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeStatus renders the status as a table an operator reads at a glance.
func writeStatus(w io.Writer, st api.Status) {
	gate := "closed"
	if st.Gate.Open {
		gate = "open"
	}
	if st.Gate.Draining {
		gate = "draining"
	}
	fmt.Fprintf(w, "custos %s  up %s  gate %s  store %s\n", st.Version, st.Uptime, gate, st.Store.Kind)
	for _, s := range st.Gate.Subsystems {
		detail := s.Detail
		if s.Promoted {
			detail += " (deadline passed)"
		}
		fmt.Fprintf(w, "  %-12s %-9s %s\n", s.Name, s.State, detail)
	}
	if st.Fallback != nil {
		fmt.Fprintf(w, "fallback %s\n", st.Fallback.URL)
	}
	if in := st.Intervention; in != nil {
		writeIntervention(w, *in)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tSTATE\tBACKEND\tPID\tPROGRESS\tIN FLIGHT\tQUEUED\tRESTARTS\tSINCE\tLAST EXIT")
	for _, m := range st.Models {
		name := m.Model
		if len(m.Aliases) > 0 {
			name += " (" + strings.Join(m.Aliases, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n",
			name, m.State, m.Backend, dash(m.PID), progress(m.Progress, m.State),
			m.InFlight, m.Queued, m.Restarts, since(m.Since), orDash(m.LastExit))
	}
	_ = tw.Flush()
	for _, m := range st.Models {
		writeReplicas(w, m)
	}
}

// writeReplicas lists a remote model's replicas, each with its state.
func writeReplicas(w io.Writer, m api.ModelStatus) {
	if len(m.Replicas) == 0 {
		return
	}
	fmt.Fprintf(w, "\nreplicas of %s\n", m.Model)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  URL\tSTATE\tIN FLIGHT\tSINCE\tEJECTED UNTIL\tEJECTIONS\tLAST PROBE\tREASON")
	for _, r := range m.Replicas {
		until := "-"
		if r.StateName == "ejected" && !r.EjectedUntil.IsZero() {
			until = stamp(r.EjectedUntil)
		}
		probe := "-"
		if !r.LastProbe.IsZero() {
			probe = since(r.LastProbe) + " ago"
			if r.LastProbeError != "" {
				probe += ": " + r.LastProbeError
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", r.URL, r.StateName, r.InFlight, since(r.Since), until, r.Ejections, probe, orDash(r.Reason))
	}
	_ = tw.Flush()
}

func dash(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func progress(p float64, state string) string {
	if state == "ready" {
		return "100%"
	}
	if p < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", p*100)
}

func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String()
}

// stamp is a moment as an operator compares it with logs: UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// writeIntervention shows the wellbeing, every pause with its reason and
// age, and how many requests wait on it.
func writeIntervention(w io.Writer, in api.InterventionStatus) {
	if !in.Enabled {
		fmt.Fprintln(w, "intervention disabled")
		return
	}
	fmt.Fprintf(w, "wellbeing %s", in.State.Wellbeing)
	if in.State.WellbeingReason != "" {
		fmt.Fprintf(w, " (%s)", in.State.WellbeingReason)
	}
	fmt.Fprintf(w, "  waiting %d\n", in.Counters.RequestsWaiting)
	if in.Restoring {
		fmt.Fprintln(w, "HOLDING all requests: the control state is still being read back from the store")
	}
	if g := in.State.Global; g != nil {
		fmt.Fprintf(w, "PAUSED (all models) by %s since %s (%s): %s\n", g.By, stamp(g.Since), since(g.Since), g.Reason)
	}
	for model, p := range in.State.Models {
		fmt.Fprintf(w, "PAUSED %s by %s since %s (%s): %s\n", model, p.By, stamp(p.Since), since(p.Since), p.Reason)
	}
}
