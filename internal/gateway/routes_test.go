package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"custos/internal/auth"
	"custos/internal/supervisor"
)

// GET on an inference route is 405 with Allow: POST, not 404
// unknown_route; a path custos does not serve is still 404.
func TestGetOnAPostRouteIs405WithAllow(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	for _, path := range []string{"/v1/chat/completions", "/v1/completions", "/v1/embeddings"} {
		a := f.get(path)
		if a.status != 405 || a.header.Get("Allow") != "POST" || !strings.Contains(a.body, `"method_not_allowed"`) {
			t.Errorf("GET %s: %d Allow %q %s", path, a.status, a.header.Get("Allow"), a.body)
		}
	}
	if a := f.post("/v1/models", "{}"); a.status != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /v1/models: %d Allow %q %s", a.status, a.header.Get("Allow"), a.body)
	}
	if a := f.get("/v1/nothing"); a.status != 404 || !strings.Contains(a.body, `"unknown_route"`) {
		t.Errorf("GET /v1/nothing: %d %s", a.status, a.body)
	}
}

// The query string reaches the backend and the fallback as the client
// sent it.
func TestQueryStringIsForwarded(t *testing.T) {
	queries := make(chan string, 2)
	record := func(w http.ResponseWriter, r *http.Request) { queries <- r.URL.RawQuery; ok(w, r) }
	f := newFixture(t, http.HandlerFunc(record), nil)
	if a := f.post("/v1/chat/completions?api-version=2024-06-01&x=a%2Fb", chatBody); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	if q := receive(t, queries, "the backend's request"); q != "api-version=2024-06-01&x=a%2Fb" {
		t.Fatalf("the backend saw query %q", q)
	}

	fb := httptest.NewServer(http.HandlerFunc(record))
	defer fb.Close()
	g := newFixture(t, http.HandlerFunc(ok), withFallback(fb.URL))
	g.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
	if a := g.post("/v1/chat/completions?tenant=7", chatBody); a.status != 200 {
		t.Fatalf("fallback: got %d %s", a.status, a.body)
	}
	if q := receive(t, queries, "the fallback's request"); q != "tenant=7" {
		t.Fatalf("the fallback saw query %q", q)
	}
}

// A backend's CORS headers never reach the client (llama-server sends an
// empty Access-Control-Allow-Origin); custos's own policy decides.
func TestBackendCORSHeadersNeverReachTheClient(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Vary", "Accept-Encoding")
		ok(w, r)
	}), nil)
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	for k := range a.header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Fatalf("a backend's %s reached the client: %v", k, a.header)
		}
	}
	if a.header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("Vary: %q", a.header.Get("Vary"))
	}
}

// The client's key is for custos: neither the backend nor the fallback
// sees it (the fallback gets its own).
func TestClientKeyNeverReachesAnUpstream(t *testing.T) {
	auths := make(chan string, 2)
	record := func(w http.ResponseWriter, r *http.Request) {
		auths <- r.Header.Get("Authorization") + r.Header.Get("X-Api-Key")
		ok(w, r)
	}
	fb := httptest.NewServer(http.HandlerFunc(record))
	defer fb.Close()
	f := newFixture(t, http.HandlerFunc(record), withFallback(fb.URL))
	send := func() {
		req, _ := http.NewRequest("POST", f.server.URL+"/v1/chat/completions", strings.NewReader(chatBody))
		req.Header.Set("Authorization", "Bearer client-key")
		req.Header.Set("X-Api-Key", "client-key") // Anthropic's clients
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send()
	if got := receive(t, auths, "the backend's request"); got != "" {
		t.Fatalf("the backend saw the client key %q", got)
	}
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
	send()
	if got := receive(t, auths, "the fallback's request"); got != "Bearer fb-key" {
		t.Fatalf("the fallback saw %q, want its own key only", got)
	}
}

// The operator's session cookie, which a browser sends with every request
// to custos (the dashboard's playground's included), reaches no upstream;
// the client's other cookies pass as they came.
func TestSessionCookieNeverReachesAnUpstream(t *testing.T) {
	cookies := make(chan string, 2)
	record := func(w http.ResponseWriter, r *http.Request) {
		cookies <- strings.Join(r.Header.Values("Cookie"), " | ")
		ok(w, r)
	}
	fb := httptest.NewServer(http.HandlerFunc(record))
	defer fb.Close()
	f := newFixture(t, http.HandlerFunc(record), withFallback(fb.URL))
	send := func() {
		req, _ := http.NewRequest("POST", f.server.URL+"/v1/chat/completions", strings.NewReader(chatBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("Cookie", "theme=dark; "+auth.SessionCookie+"=1999999999.c2lnbmF0dXJl; lang=en")
		req.Header.Add("Cookie", auth.SessionCookie+"=1999999999.c2lnbmF0dXJl")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send()
	if got := receive(t, cookies, "the backend's request"); got != "theme=dark; lang=en" {
		t.Fatalf("the backend got Cookie %q, want the client's other cookies only", got)
	}
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
	send()
	if got := receive(t, cookies, "the fallback's request"); got != "theme=dark; lang=en" {
		t.Fatalf("the fallback got Cookie %q, want the client's other cookies only", got)
	}
}
