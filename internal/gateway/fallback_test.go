package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/config"
	"custos/internal/supervisor"
)

type seen struct{ model, auth, path string }

func fallbackServer(t *testing.T, got chan<- seen) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Model string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		got <- seen{body.Model, r.Header.Get("Authorization"), r.URL.Path}
		ok(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func withFallback(url string) func(*config.Config) {
	return func(c *config.Config) {
		c.Fallback = &config.Fallback{URL: url + "/v1", APIKey: "fb-key", Models: map[string]string{"tiny": "remote-tiny"}, Timeout: time.Minute}
	}
}

func TestUnhealthyModelGoesToTheFallback(t *testing.T) {
	got := make(chan seen, 1)
	fb := fallbackServer(t, got)
	f := newFixture(t, http.HandlerFunc(ok), withFallback(fb.URL))
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
	req, _ := http.NewRequest("POST", f.server.URL+"/v1/chat/completions", strings.NewReader(chatBody))
	req.Header.Set("Authorization", "Bearer client-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := <-got
	if resp.StatusCode != 200 || resp.Header.Get("X-Custos-Backend") != "fallback" || s.model != "remote-tiny" || s.auth != "Bearer fb-key" || s.path != "/v1/chat/completions" {
		t.Fatalf("status %d header %q, fallback saw %+v", resp.StatusCode, resp.Header.Get("X-Custos-Backend"), s)
	}
}

func TestLoadingPastTheDeadlineGoesToTheFallback(t *testing.T) {
	got := make(chan seen, 1)
	fb := fallbackServer(t, got)
	f := newFixture(t, http.HandlerFunc(ok), func(c *config.Config) {
		withFallback(fb.URL)(c)
		c.Readiness.Deadline = 50 * time.Millisecond
	})
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateLoading; s.NotReadySince = time.Now() })
	// The request arrives while the deadline has not passed yet: it waits,
	// and moves to the fallback the moment the deadline passes.
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 200 || a.header.Get("X-Custos-Backend") != "fallback" {
		t.Fatalf("got %d %v %s", a.status, a.header, a.body)
	}
	<-got
}

func TestRecoveredModelServesLocallyAgain(t *testing.T) {
	got := make(chan seen, 1)
	fb := fallbackServer(t, got)
	f := newFixture(t, http.HandlerFunc(ok), withFallback(fb.URL))
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
	if a := f.post("/v1/chat/completions", chatBody); a.header.Get("X-Custos-Backend") != "fallback" {
		t.Fatalf("want fallback, got %v", a.header)
	}
	<-got
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateReady })
	if a := f.post("/v1/chat/completions", chatBody); a.status != 200 || a.header.Get("X-Custos-Backend") != "" {
		t.Fatalf("want local, got %d %v", a.status, a.header)
	}
}

func TestFallbackDownAnswers502(t *testing.T) {
	fb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hangUp(w) }))
	defer fb.Close()
	f := newFixture(t, http.HandlerFunc(ok), withFallback(fb.URL))
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 502 || !strings.Contains(a.body, "fallback_unavailable") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

// A /v1/responses request whose backend fails every attempt before
// answering goes to the fallback once the retry budget is spent: nothing
// has reached the client, so the fallback can still answer it. The answer
// names the model the client asked for, not the fallback's.
func TestResponsesOutOfRetriesGoToTheFallback(t *testing.T) {
	got := make(chan seen, 1)
	fb := fallbackServer(t, got)
	var calls atomic.Int32
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { calls.Add(1); hangUp(w) }), withFallback(fb.URL))
	a := f.post("/v1/responses", `{"model":"default","input":"hi"}`)
	s := receive(t, got, "the fallback's request")
	if a.status != 200 || a.header.Get("X-Custos-Backend") != "fallback" || s.model != "remote-tiny" || s.path != "/v1/responses" || calls.Load() < 2 {
		t.Fatalf("got %d %v %s after %d calls; the fallback saw %+v", a.status, a.header, a.body, calls.Load(), s)
	}
}

// One of llama-server's own paths goes to the fallback beside its /v1.
func TestRootPathGoesToTheFallbackBesideItsV1(t *testing.T) {
	got := make(chan seen, 1)
	fb := fallbackServer(t, got)
	f := newFixture(t, http.HandlerFunc(ok), withFallback(fb.URL))
	f.upstream.set(func(s *supervisor.Snapshot) { s.State = supervisor.StateUnhealthy })
	if a := f.post("/infill", `{"model":"tiny","input_prefix":"a","input_suffix":"b"}`); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	if s := receive(t, got, "the fallback's request"); s.path != "/infill" {
		t.Fatalf("the fallback saw %s", s.path)
	}
}
