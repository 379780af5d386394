package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// report collects the tables the scenarios produce, in order.
type report struct {
	mu       sync.Mutex
	sections []*section
}

// section is one table with an optional note under it.
type section struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

func (r *report) add(s *section) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sections = append(r.sections, s)
}

// table returns the section titled title, adding it with header if there is none yet: scenarios that
// each measure a part of one table add their rows to it.
func (r *report) table(title string, header []string) *section {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sections {
		if s.title == title {
			return s
		}
	}
	s := &section{title: title, header: header}
	r.sections = append(r.sections, s)
	return s
}

func (s *section) row(cells ...string) { s.rows = append(s.rows, cells) }

func (s *section) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

func (r *report) write(w io.Writer) {
	for _, s := range r.sections {
		fmt.Fprintf(w, "\n### %s\n\n", s.title)
		fmt.Fprintf(w, "| %s |\n", strings.Join(s.header, " | "))
		fmt.Fprintf(w, "|%s\n", strings.Repeat(" --- |", len(s.header)))
		for _, row := range s.rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
		if len(s.notes) > 0 {
			fmt.Fprintln(w)
			for _, n := range s.notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
		}
	}
}

// us formats a duration in microseconds, ms in milliseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ratio(x float64) string { return fmt.Sprintf("%.2f×", x) }

// verdict says whether a target holds.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**missed**"
}
