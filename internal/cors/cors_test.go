package cors

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func serve(p *Policy, method, origin string, extra map[string]string) *httptest.ResponseRecorder {
	h := p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	r := httptest.NewRequest(method, "http://127.0.0.1:8080/v1/chat/completions", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	for k, v := range extra {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestListedOriginIsAllowedAndItsPreflightAnswered(t *testing.T) {
	p := New([]string{"https://chat.example.com/"})
	rec := serve(p, "POST", "https://chat.example.com", nil)
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "https://chat.example.com" || rec.Header().Get("Vary") != "Origin" {
		t.Fatalf("allowed origin: %d %v", rec.Code, rec.Header())
	}
	rec = serve(p, "OPTIONS", "https://chat.example.com", map[string]string{
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type",
	})
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Headers") != "authorization, content-type" || rec.Header().Get("Access-Control-Allow-Methods") == "" {
		t.Fatalf("preflight: %d %v", rec.Code, rec.Header())
	}
}

func TestOriginNotListedIsRefusedAndNoOriginPasses(t *testing.T) {
	p := New(nil)
	if rec := serve(p, "POST", "https://evil.example", nil); rec.Code != 403 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: %d %v", rec.Code, rec.Header())
	}
	if rec := serve(p, "OPTIONS", "https://evil.example", map[string]string{"Access-Control-Request-Method": "POST"}); rec.Code != 403 {
		t.Fatalf("foreign preflight: %d", rec.Code)
	}
	if rec := serve(p, "POST", "", nil); rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no origin: %d %v", rec.Code, rec.Header())
	}
	if rec := serve(p, "POST", "http://127.0.0.1:8080", nil); rec.Code != 200 {
		t.Fatalf("custos's own origin: %d", rec.Code)
	}
	if rec := serve(New([]string{"*"}), "POST", "https://any.example", nil); rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "https://any.example" {
		t.Fatalf("*: %d %v", rec.Code, rec.Header())
	}
}

func TestIsCORSHeader(t *testing.T) {
	for name, want := range map[string]bool{"Access-Control-Allow-Origin": true, "access-control-max-age": true, "Vary": false, "Access-Control-": false} {
		if IsCORSHeader(name) != want {
			t.Errorf("%s: want %v", name, want)
		}
	}
}

// A page that rebinds its own domain name to 127.0.0.1 is same-origin to
// the browser (Origin and Host both name it), and a same-origin GET
// carries no Origin at all: neither may use /v1 unless its origin is
// listed. custos's own loopback origin, and a listed public one (behind a
// reverse proxy), pass.
func TestRebindingPageIsNotCustosOwnOrigin(t *testing.T) {
	h := New([]string{"https://chat.example.com"}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	for _, tc := range []struct {
		name, host, origin, site string
		want                     int
	}{
		{"rebound POST", "evil.example:8080", "http://evil.example:8080", "same-origin", 403},
		{"rebound GET without Origin", "evil.example:8080", "", "same-origin", 403},
		{"custos's own page on loopback", "127.0.0.1:8080", "http://127.0.0.1:8080", "same-origin", 200},
		{"localhost", "localhost:8080", "http://localhost:8080", "same-origin", 200},
		{"a listed public origin behind a proxy", "chat.example.com", "https://chat.example.com", "same-origin", 200},
		{"the address bar", "evil.example:8080", "", "none", 200},
		{"curl", "evil.example:8080", "", "", 200},
	} {
		r := httptest.NewRequest("GET", "http://"+tc.host+"/v1/models", nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.site != "" {
			r.Header.Set("Sec-Fetch-Site", tc.site)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
}
