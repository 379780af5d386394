package remote_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"custos/internal/standin"
)

func downPair(t *testing.T) (*counted, *counted) {
	t.Helper()
	return newCounted(t, standin.Options{}), newCounted(t, standin.Options{})
}

// With every replica ejected the model is unhealthy, and the fallback
// serves it.
func TestEveryReplicaDownGoesToTheFallback(t *testing.T) {
	fb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"chat.completion","model":"remote-model","choices":[{"message":{"content":"from the fallback"}}]}`)
	}))
	t.Cleanup(fb.Close)
	a, b := downPair(t)
	f := startFront(t, remoteModel(a.url, b.url), fb.URL+"/v1", remoteOptions())
	f.waitState(t, a.url, "ready")
	f.waitState(t, b.url, "ready")
	a.stop()
	b.stop()
	// The first request may meet the replicas before their probes have
	// ejected them: it fails on both and goes to the fallback too.
	for i := range 3 {
		r := f.post(chatBody)
		if r.status != http.StatusOK || r.header.Get("X-Custos-Backend") != "fallback" || !strings.Contains(r.body, "from the fallback") {
			t.Fatalf("request %d: status %d, backend %q: %s", i, r.status, r.header.Get("X-Custos-Backend"), r.body)
		}
	}
	f.waitState(t, a.url, "ejected")
	f.waitState(t, b.url, "ejected")
	if s := f.pool.Snapshot(); s.State.String() != "unhealthy" {
		t.Fatalf("model %s, want unhealthy", s.State)
	}
}

// Without a fallback, a model whose replicas are all ejected answers
// 503 model_unhealthy with Retry-After.
func TestEveryReplicaDownWithoutAFallbackIs503(t *testing.T) {
	a, b := downPair(t)
	f := startFront(t, remoteModel(a.url, b.url), "", remoteOptions())
	f.waitState(t, a.url, "ready")
	f.waitState(t, b.url, "ready")
	a.stop()
	b.stop()
	f.waitState(t, a.url, "ejected")
	f.waitState(t, b.url, "ejected")
	r := f.post(chatBody)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `"code":"model_unhealthy"`) || r.header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
}
