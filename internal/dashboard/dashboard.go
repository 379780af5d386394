// Package dashboard is the operator's page at /ui: static HTML, CSS and
// JavaScript embedded in the binary (no build step, nothing fetched from
// elsewhere), which reads /status, /admin/events and the other operator
// routes and sends the same admin actions `custos` sends from the command
// line. The page holds no data of its own: everything it shows comes from
// routes behind the operator guard, so the guard stays the one place that
// decides who may see and steer custos.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"custos/internal/apierror"
	"custos/internal/auth"
	"custos/internal/httpserver"
)

//go:embed assets
var embedded embed.FS

// Prefix is where the page is served.
const Prefix = "/ui"

// ContentSecurityPolicy lets the page run only its own files: no inline
// script or style, no other origin, no framing, no form sent elsewhere.
// Its data comes from custos itself (connect-src 'self').
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the page's files under Prefix: Prefix itself and
// Prefix+"/" are the page, Prefix+"/NAME" its assets.
type Handler struct {
	assets map[string]asset // by path under Prefix, "/" for the page
}

// New loads the embedded files.
func New() *Handler {
	h := &Handler{assets: map[string]asset{}}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := "/" + strings.TrimPrefix(p, "assets/")
		h.assets[name] = asset{
			body:        body,
			contentType: mime.TypeByExtension(path.Ext(p)),
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic("dashboard: reading the embedded assets: " + err.Error()) // the binary was built without them
	}
	h.assets["/"] = h.assets["/index.html"]
	delete(h.assets, "/index.html")
	return h
}

// ServeHTTP answers GET and HEAD for the page and its assets. The files
// change only with the binary, so they carry an ETag of their content and
// Cache-Control: no-cache: a browser keeps them and asks with
// If-None-Match each time (a 304 on loopback), and never runs an old page
// against a newer custos.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	if name == "" {
		name = "/"
	}
	a, ok := h.assets[name]
	if !ok {
		apierror.NotFound("unknown_route", r.Method+" "+r.URL.Path+" is not a file of the dashboard").Write(w)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", a.etag)
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// etagMatches reports whether an If-None-Match header lists etag.
func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == etag || candidate == "W/"+etag || candidate == "*" {
			return true
		}
	}
	return false
}

// Register mounts the page on mux: GET /ui, /ui/... and GET / redirected
// to /ui, behind every rule of the operator guard but the token
// (auth.Guard.WrapLogin): without an admin token the page is served to
// loopback clients only, as the operator routes are, and never to a
// request another site made. With a token the page is served without it,
// since it holds nothing but code and must load to ask for the token;
// every figure and action it shows comes through the guarded routes,
// which refuse it until the session cookie is set.
func Register(mux *httpserver.Mux, guard *auth.Guard) {
	page := guard.WrapLogin(New().ServeHTTP)
	mux.Handle(http.MethodGet, Prefix, page)
	mux.Handle(http.MethodGet, Prefix+"/", page)
	mux.HandleFunc(http.MethodGet, "/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	})
}
