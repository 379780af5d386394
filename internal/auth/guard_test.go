package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type guardCase struct {
	name      string
	method    string
	remote    string
	host      string
	header    map[string]string
	status    int
	code      string
	withToken bool
}

func runGuard(t *testing.T, cases []guardCase) {
	t.Helper()
	for _, tc := range cases {
		keys := NewKeys()
		if tc.withToken {
			keys = NewKeys("tok")
		}
		h := NewGuard(keys).Wrap(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
		r := httptest.NewRequest(tc.method, "/admin/resume", strings.NewReader(`{}`))
		r.RemoteAddr = tc.remote
		if r.RemoteAddr == "" {
			r.RemoteAddr = "127.0.0.1:50000"
		}
		r.Host = tc.host
		if r.Host == "" {
			r.Host = "127.0.0.1:8080"
		}
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h(rec, r)
		if rec.Code != tc.status || (tc.code != "" && !strings.Contains(rec.Body.String(), `"`+tc.code+`"`)) {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range h {
		out[a] = b
	}
	return out
}

// Without a token, a web page in the operator's browser must not be able
// to change or read anything: cross-site requests are refused, a
// state-changing request needs a JSON content type (a cross-site form or
// simple fetch cannot send one), and a Host that is not loopback (DNS
// rebinding) or a request relayed by a proxy is refused.
func TestGuardRefusesCrossSiteAndRebindingWithoutAToken(t *testing.T) {
	runGuard(t, []guardCase{
		{name: "the CLI", method: "POST", header: jsonCT, status: 204},
		{name: "a GET from curl", method: "GET", status: 204},
		{name: "custos's own page", method: "POST", header: with(with(jsonCT, "Origin", "http://127.0.0.1:8080"), "Sec-Fetch-Site", "same-origin"), status: 204},
		{name: "a cross-site form", method: "POST", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, status: 403, code: "cross_site_refused"},
		{name: "a cross-site fetch without Origin", method: "POST", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403, code: "cross_site_refused"},
		{name: "a same-site page on another port", method: "POST", header: with(jsonCT, "Sec-Fetch-Site", "same-site"), status: 403, code: "cross_site_refused"},
		{name: "a foreign Origin", method: "POST", header: with(jsonCT, "Origin", "http://localhost:3000"), status: 403, code: "cross_site_refused"},
		{name: "a sandboxed page", method: "POST", header: with(jsonCT, "Origin", "null"), status: 403, code: "cross_site_refused"},
		{name: "an empty POST", method: "POST", status: 415, code: "json_required"},
		{name: "a text/plain POST", method: "POST", header: map[string]string{"Content-Type": "text/plain"}, status: 415, code: "json_required"},
		{name: "JSON with a charset", method: "POST", header: map[string]string{"Content-Type": "application/json; charset=utf-8"}, status: 204},
		{name: "DNS rebinding", method: "GET", host: "attacker.example:8080", status: 403, code: "admin_host_refused"},
		{name: "localhost", method: "GET", host: "localhost:8080", status: 204},
		{name: "IPv6 loopback", method: "GET", host: "[::1]:8080", status: 204},
		{name: "a proxy on the same host", method: "GET", header: map[string]string{"X-Forwarded-For": "203.0.113.9"}, status: 403, code: "admin_loopback_only"},
		{name: "another host", method: "GET", remote: "192.0.2.7:40000", status: 403, code: "admin_loopback_only"},
	})
}

// With a token, the token is what counts, from anywhere and whatever the
// Host, but cross-site requests and non-JSON changes are still refused.
func TestGuardWithATokenNeedsItAndStillRefusesCrossSite(t *testing.T) {
	auth := map[string]string{"Authorization": "Bearer tok"}
	runGuard(t, []guardCase{
		{name: "token from another host", withToken: true, method: "POST", remote: "192.0.2.7:40000", host: "custos.example", header: with(auth, "Content-Type", "application/json"), status: 204},
		{name: "no token", withToken: true, method: "GET", status: 401, code: "invalid_admin_token"},
		{name: "token, cross-site", withToken: true, method: "POST", header: with(with(auth, "Content-Type", "application/json"), "Sec-Fetch-Site", "cross-site"), status: 403, code: "cross_site_refused"},
		{name: "token, no JSON", withToken: true, method: "POST", header: auth, status: 415, code: "json_required"},
	})
}
