package gateway

import (
	"custos/internal/config"
	"custos/internal/supervisor"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hangUp closes the connection without an answer: what a crashing
// backend looks like to its client.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestFailureBeforeAnyByteIsRetried(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			hangUp(w)
			return
		}
		ok(w, r)
	}), nil)
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 200 || !strings.Contains(a.body, "hello") {
		t.Fatalf("got %d %s %v", a.status, a.body, a.err)
	}
	if calls.Load() != 2 || f.upstream.failures.Load() != 1 {
		t.Fatalf("calls %d, failures reported %d", calls.Load(), f.upstream.failures.Load())
	}
}

func TestHeadersThenDeathBeforeBodyIsRetried(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			_ = http.NewResponseController(w).Flush()
			hangUp(w)
			return
		}
		ok(w, r)
	}), nil)
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 200 || !strings.Contains(a.body, "hello") {
		t.Fatalf("headers without a body must not reach the client; got %d %s %v", a.status, a.body, a.err)
	}
}

func TestEveryAttemptFailingEndsWith502(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hangUp(w) }), nil)
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 502 || !strings.Contains(a.body, "backend_failed") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

func TestBackendErrorStatusPassesThroughUntouched(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":{"message":"prompt too long","type":"invalid_request_error","code":"context_length"}}`))
	}), nil)
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 400 || !strings.Contains(a.body, "prompt too long") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

// When the tries on a process are spent just before the supervisor
// replaces it, the request waits for the replacement rather than failing.
func TestSpentTriesWaitForTheReplacementProcess(t *testing.T) {
	var calls atomic.Int32
	var f *fixture
	f = newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			hangUp(w)
		case 2:
			// The second failure spends the tries on this process; the
			// supervisor replaces it a moment later.
			time.AfterFunc(20*time.Millisecond, func() { f.upstream.set(func(s *supervisor.Snapshot) { s.PID = 2 }) })
			hangUp(w)
		default:
			ok(w, r)
		}
	}), func(c *config.Config) {
		c.Models[0].UnhealthyAfter, c.Models[0].HealthInterval = 1, time.Second
	})
	f.upstream.set(func(s *supervisor.Snapshot) { s.PID = 1 })
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 200 || calls.Load() != 3 {
		t.Fatalf("got %d %s after %d calls", a.status, a.body, calls.Load())
	}
}

// A /v1/responses request whose backend dies before answering is retried
// like a chat request, and the client gets the second attempt's answer.
func TestResponsesFailureBeforeAnyByteIsRetried(t *testing.T) {
	var calls atomic.Int32
	answer := llamaLike(nil)
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			hangUp(w)
			return
		}
		answer(w, r)
	}), nil)
	a := f.post("/v1/responses", `{"model":"tiny","input":"hi"}`)
	if a.status != 200 || !strings.Contains(a.body, `"object":"response"`) || calls.Load() != 2 || f.upstream.failures.Load() != 1 {
		t.Fatalf("got %d %s after %d calls", a.status, a.body, calls.Load())
	}
}
