package httpserver

import (
	"net/http"
	"slices"
	"strings"

	"custos/internal/apierror"
)

// Mux routes by method and path like http.ServeMux, and answers what it
// does not route in custos's error shape: 405 with Allow for a known path
// asked with another method, 404 for an unknown path. (http.ServeMux
// writes plain text for both, and a catch-all pattern would turn its 405
// into 404.)
type Mux struct {
	mux     *http.ServeMux
	allowed map[string][]string // path → methods, in registration order
}

// NewMux returns an empty Mux whose unknown paths get 404 unknown_route.
func NewMux() *Mux {
	m := &Mux{mux: http.NewServeMux(), allowed: map[string][]string{}}
	m.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { NotFound(w, r) })
	return m
}

// Handle serves method and path with h. Every other method on path gets
// 405 with Allow. A path ending in "/" is a subtree, served for every
// method: its handler answers methods itself.
func (m *Mux) Handle(method, path string, h http.Handler) {
	if method == "" {
		m.mux.Handle(path, h)
		return
	}
	m.mux.Handle(method+" "+path, h)
	methods, known := m.allowed[path]
	m.allowed[path] = append(methods, method)
	if !known {
		m.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { m.methodNotAllowed(w, r, path) })
	}
}

// HandleFunc is Handle with a function.
func (m *Mux) HandleFunc(method, path string, h http.HandlerFunc) { m.Handle(method, path, h) }

// ServeHTTP routes r.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

func (m *Mux) methodNotAllowed(w http.ResponseWriter, r *http.Request, path string) {
	methods := slices.Clone(m.allowed[path])
	if slices.Contains(methods, http.MethodGet) && !slices.Contains(methods, http.MethodHead) {
		methods = append(methods, http.MethodHead) // a GET route answers HEAD too
	}
	allow := strings.Join(methods, ", ")
	w.Header().Set("Allow", allow)
	apierror.Error{Status: http.StatusMethodNotAllowed, Type: apierror.TypeInvalidRequest, Code: "method_not_allowed",
		Message: r.Method + " is not allowed on " + path + " (allowed: " + allow + ")"}.Write(w)
}

// NotFound answers a path custos does not serve.
func NotFound(w http.ResponseWriter, r *http.Request) {
	apierror.NotFound("unknown_route", r.Method+" "+r.URL.Path+" is not a route custos serves").Write(w)
}
