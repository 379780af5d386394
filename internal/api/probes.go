package api

import (
	"fmt"
	"net/http"
	"strings"

	"custos/internal/health"
)

// health answers the seed's snapshot: 200 when the default model is ready.
func (a *API) health(w http.ResponseWriter, _ *http.Request) {
	report := health.Build(a.snapshots(), a.opts.Config.DefaultModel())
	status := http.StatusOK
	if !report.OK() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, report)
}

// livez says only that the process serves HTTP. It never looks at the
// backends: a liveness probe that failed when a model was down would have
// Kubernetes restart custos, which cannot fix the model.
func (a *API) livez(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz is the readiness gate for Kubernetes: 200 when open, 503
// otherwise. With ?verbose it lists each subsystem, one per line.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	st := a.opts.Gate.Status()
	status := http.StatusOK
	if !st.Open {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if !r.URL.Query().Has("verbose") {
		if st.Open {
			_, _ = w.Write([]byte("ok\n"))
		} else {
			_, _ = w.Write([]byte("not ready\n"))
		}
		return
	}
	var b strings.Builder
	for _, s := range st.Subsystems {
		mark := "+"
		if !s.State.Serving() {
			mark = "-"
		}
		fmt.Fprintf(&b, "[%s]%s %s", mark, s.Name, s.State)
		if s.Detail != "" {
			fmt.Fprintf(&b, ": %s", s.Detail)
		}
		if s.Promoted {
			b.WriteString(" (readiness deadline passed)")
		}
		b.WriteByte('\n')
	}
	switch {
	case st.Draining:
		b.WriteString("readyz check failed: shutting down\n")
	case st.Open:
		b.WriteString("readyz check passed\n")
	default:
		b.WriteString("readyz check failed\n")
	}
	_, _ = w.Write([]byte(b.String()))
}
