package supervisor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestParseProgress(t *testing.T) {
	cases := []struct {
		body string
		want float64
	}{
		{`{"error":{"code":503,"message":"Loading model"},"progress":0.25}`, 0.25},
		{`{"progress":0}`, 0},
		{`{"progress":1}`, 1},
		{`{"progress":1.5}`, -1},
		{`{"progress":-0.1}`, -1},
		{`{"progress":"0.5"}`, -1},
		{`{"error":{"code":503,"message":"Loading model"}}`, -1},
		{`Loading model`, -1},
		{``, -1},
	}
	for _, c := range cases {
		if got := parseProgress([]byte(c.body)); got != c.want {
			t.Errorf("parseProgress(%q) = %v, want %v", c.body, got, c.want)
		}
	}
}

func TestProbeHealthReadsStatusAndProgress(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"progress":0.5}`))
	}))
	defer srv.Close()
	client := newProbeClient()

	r := probeHealth(context.Background(), client, srv.URL, 5*time.Second)
	if r.ok || r.progress != 0.5 || r.err == nil {
		t.Fatalf("loading probe = %+v, want not ok with progress 0.5", r)
	}
	status = http.StatusOK
	r = probeHealth(context.Background(), client, srv.URL, 5*time.Second)
	if !r.ok || r.err != nil {
		t.Fatalf("ready probe = %+v, want ok", r)
	}
}

// A backend that accepts the connection and never answers must cost one
// probe timeout, not block the prober.
func TestProbeHealthGivesUpOnSilentBackend(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	done := make(chan probeResult, 1)
	go func() { done <- probeHealth(context.Background(), newProbeClient(), srv.URL, 50*time.Millisecond) }()
	select {
	case r := <-done:
		if r.ok || r.err == nil {
			t.Fatalf("silent backend probe = %+v, want a failure", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("probe of a silent backend never returned")
	}
}
