package api

import (
	"net/http"
	"net/http/pprof"
)

// registerDebug mounts Go's profiler behind the admin guard: an operator
// can take a CPU or heap profile of a running custos (go tool pprof
// http://HOST/debug/pprof/profile) without a restart, and nobody else can.
func (a *API) registerDebug(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", a.admin(pprof.Index))
	mux.HandleFunc("GET /debug/pprof/cmdline", a.admin(pprof.Cmdline))
	mux.HandleFunc("GET /debug/pprof/profile", a.admin(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/symbol", a.admin(pprof.Symbol))
	mux.HandleFunc("GET /debug/pprof/trace", a.admin(pprof.Trace))
}
