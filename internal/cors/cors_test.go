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
