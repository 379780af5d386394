package dashboard

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"custos/internal/auth"
	"custos/internal/httpserver"
)

func serve(t *testing.T, keys *auth.Keys, method, path string, header map[string]string) *http.Response {
	t.Helper()
	mux := httpserver.NewMux()
	Register(mux, auth.NewGuard(keys))
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Host = "127.0.0.1:8080"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Result()
}

// Every file of the page carries the strict policy, nosniff and a
// validator, and the page is at /ui, /ui/ and behind GET /.
func TestAssetsCarryTheSecurityAndCacheHeaders(t *testing.T) {
	for _, path := range []string{"/ui", "/ui/", "/ui/app.js", "/ui/api.js", "/ui/chart.js", "/ui/app.css"} {
		resp := serve(t, auth.NewKeys(), "GET", path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		h := resp.Header
		if h.Get("Content-Security-Policy") != ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: headers %v", path, h)
		}
		if want := map[string]string{".js": "text/javascript", ".css": "text/css"}; path != "/ui" && path != "/ui/" {
			for ext, ct := range want {
				if strings.HasSuffix(path, ext) && !strings.HasPrefix(h.Get("Content-Type"), ct) {
					t.Errorf("GET %s: Content-Type %q", path, h.Get("Content-Type"))
				}
			}
		} else if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: Content-Type %q", path, h.Get("Content-Type"))
		}
	}
	if !strings.Contains(ContentSecurityPolicy, "script-src 'self';") || strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Errorf("the policy must allow only the page's own scripts: %s", ContentSecurityPolicy)
	}
	resp := serve(t, auth.NewKeys(), "GET", "/", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui" {
		t.Errorf("GET /: %d to %q, want 302 to /ui", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A file the page does not have is answered like any unknown route: 404
// with the OpenAI-shaped error, which a script reading the JSON can parse.
func TestMissingAssetIsAnOpenAIError(t *testing.T) {
	resp := serve(t, auth.NewKeys(), "GET", "/ui/missing.js", nil)
	var body struct {
		Error struct{ Message, Type, Code string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusNotFound ||
		body.Error.Code != "unknown_route" || body.Error.Message == "" || body.Error.Type == "" {
		t.Fatalf("GET /ui/missing.js: %d, %+v (%v)", resp.StatusCode, body, err)
	}
}

// A browser that has the file is answered 304 when it asks with its ETag.
func TestUnchangedAssetIsNotSentAgain(t *testing.T) {
	first := serve(t, auth.NewKeys(), "GET", "/ui/app.js", nil)
	etag := first.Header.Get("ETag")
	again := serve(t, auth.NewKeys(), "GET", "/ui/app.js", map[string]string{"If-None-Match": etag})
	body, _ := io.ReadAll(again.Body)
	if again.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("GET with If-None-Match %s: %d, %d bytes", etag, again.StatusCode, len(body))
	}
	other := serve(t, auth.NewKeys(), "GET", "/ui/app.js", map[string]string{"If-None-Match": `"stale"`})
	if other.StatusCode != 200 {
		t.Fatalf("GET with a stale ETag: %d", other.StatusCode)
	}
}

// Without an admin token the page answers only as the operator routes do:
// a loopback Host, and never a request another site made.
func TestPageWithoutATokenIsServedToLoopbackOnly(t *testing.T) {
	if resp := serve(t, auth.NewKeys(), "GET", "/ui", map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != 403 {
		t.Errorf("cross-site request: %d, want 403", resp.StatusCode)
	}
	mux := httpserver.NewMux()
	Register(mux, auth.NewGuard(auth.NewKeys()))
	for _, c := range []struct{ remote, host string }{{"192.0.2.7:5000", "127.0.0.1:8080"}, {"127.0.0.1:5000", "rebound.example:8080"}} {
		req := httptest.NewRequest("GET", "/ui", nil)
		req.RemoteAddr, req.Host = c.remote, c.host
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != 403 {
			t.Errorf("GET /ui from %s with Host %s: %d, want 403", c.remote, c.host, rec.Code)
		}
	}
}

// With an admin token the page itself loads without it (it must, to ask
// for it) from any peer; the data it shows is behind the guarded routes.
func TestPageWithATokenLoadsToAskForIt(t *testing.T) {
	mux := httpserver.NewMux()
	Register(mux, auth.NewGuard(auth.NewKeys("secret")))
	req := httptest.NewRequest("GET", "/ui", nil)
	req.RemoteAddr, req.Host = "192.0.2.7:5000", "custos.example:8080"
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("GET /ui with a token configured: %d", rec.Code)
	}
}

// The page is small, fetches nothing from elsewhere, runs no inline
// script and keeps nothing in the browser's storage.
func TestAssetsAreSmallSelfContainedAndStoreNothing(t *testing.T) {
	total := 0
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?https?:`)
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|javascript:|<style`)
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		total += len(body)
		if external.Match(body) {
			t.Errorf("%s refers to another origin: %q", p, external.Find(body))
		}
		if strings.HasSuffix(p, ".html") && inline.Match(body) {
			t.Errorf("%s has inline script or style, which the policy refuses: %q", p, inline.Find(body))
		}
		for _, banned := range []string{"localStorage", "sessionStorage", "indexedDB", "document.cookie"} {
			if strings.Contains(string(body), banned) {
				t.Errorf("%s uses %s: the session lives only in the HttpOnly cookie", p, banned)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 200<<10 {
		t.Errorf("the page's files weigh %d bytes; keep them well under 1 MB (budget 200 KiB)", total)
	}
	t.Logf("the page's files: %d bytes", total)
}
