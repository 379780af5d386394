package api

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"custos/internal/auth"
	"custos/internal/httpserver"
	"custos/internal/supervisor"
)

// sessionServer serves a's routes over real HTTP on loopback.
func sessionServer(t *testing.T, a *API) *httptest.Server {
	t.Helper()
	mux := httpserver.NewMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, c *http.Client, method, u, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" || method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	resp.Body.Close()
	return resp
}

// A browser logs in once with the token and then reaches the operator
// routes with the cookie alone, until it logs out.
func TestSessionLoginOpensTheOperatorRoutesAndLogoutEndsIt(t *testing.T) {
	a, _, _ := newAPI(supervisor.StateReady)
	a.opts.AdminKeys = auth.NewKeys("s3cret")
	a.guard = auth.NewGuard(a.opts.AdminKeys)
	srv := sessionServer(t, a)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second}

	if resp := send(t, c, "GET", srv.URL+"/status", ""); resp.StatusCode != 401 {
		t.Fatalf("before login: got %d, want 401", resp.StatusCode)
	}
	if resp := send(t, c, "POST", srv.URL+"/admin/session", `{"token":"wrong"}`); resp.StatusCode != 401 || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("wrong token: got %d cookie %q, want 401 and no cookie", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	resp := send(t, c, "POST", srv.URL+"/admin/session", `{"token":"s3cret"}`)
	set := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != 204 {
		t.Fatalf("login: got %d, want 204", resp.StatusCode)
	}
	for _, attr := range []string{auth.SessionCookie + "=", "Path=/", "Max-Age=43200", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(set, attr) {
			t.Fatalf("login cookie %q lacks %s", set, attr)
		}
	}
	if resp := send(t, c, "GET", srv.URL+"/status", ""); resp.StatusCode != 200 {
		t.Fatalf("with the session: got %d, want 200", resp.StatusCode)
	}
	if resp := send(t, c, "DELETE", srv.URL+"/admin/session", ""); resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: got %d cookie %q, want 204 and a cleared cookie", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	u, _ := url.Parse(srv.URL)
	if n := len(jar.Cookies(u)); n != 0 {
		t.Fatalf("the browser still holds %d cookies after logout", n)
	}
	if resp := send(t, c, "GET", srv.URL+"/status", ""); resp.StatusCode != 401 {
		t.Fatalf("after logout: got %d, want 401", resp.StatusCode)
	}
}

func TestSessionLoginRefusesAMissingTokenAndUnknownFields(t *testing.T) {
	a, _, _ := newAPI(supervisor.StateReady)
	a.opts.AdminKeys = auth.NewKeys("s3cret")
	a.guard = auth.NewGuard(a.opts.AdminKeys)
	for body, want := range map[string]string{`{}`: "invalid_admin_token", `{"token":"s3cret","user":"x"}`: "invalid_json", `[]`: "invalid_json"} {
		rec := serveBody(a, "POST", "/admin/session", "192.0.2.1:5555", body, "")
		if !strings.Contains(rec.Body.String(), `"`+want+`"`) || rec.Header().Get("Set-Cookie") != "" {
			t.Errorf("%s: got %d %s, want %s and no cookie", body, rec.Code, rec.Body, want)
		}
	}
}

// With no admin token there is nothing to trade for a cookie: loopback
// clients get 204 without one, and others are refused as on every
// operator route.
func TestSessionWithoutATokenIsLoopbackOnly(t *testing.T) {
	a, _, _ := newAPI(supervisor.StateReady)
	rec := serveBody(a, "POST", "/admin/session", "127.0.0.1:5555", `{"token":"anything"}`, "")
	if rec.Code != 204 || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("loopback: got %d cookie %q, want 204 and no cookie", rec.Code, rec.Header().Get("Set-Cookie"))
	}
	rec = serveBody(a, "POST", "/admin/session", "192.0.2.1:5555", `{}`, "")
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "admin_loopback_only") {
		t.Fatalf("another host: got %d %s, want 403 admin_loopback_only", rec.Code, rec.Body)
	}
}
