package api

import (
	"net/http"
	"net/http/pprof"
	"strings"

	"custos/internal/httpserver"
)

// registerDebug mounts Go's profiler behind the admin guard: an operator
// can take a CPU or heap profile of a running custos (go tool pprof
// http://HOST/debug/pprof/profile) without a restart, and nobody else can.
// One subtree route serves all of it, so that the router's 405 for other
// methods covers every profiler path.
func (a *API) registerDebug(mux *httpserver.Mux) {
	mux.HandleFunc("GET", "/debug/pprof/", a.admin(profiler))
}

func profiler(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/debug/pprof/") {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		pprof.Index(w, r)
	}
}
