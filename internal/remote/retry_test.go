package remote_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"custos/internal/standin"
)

// failing is a replica whose /health passes and whose inference fails
// as fail says.
func failing(t *testing.T, fail func(w http.ResponseWriter)) (url string, attempts *atomic.Int64) {
	t.Helper()
	attempts = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			_, _ = io.WriteString(w, `{"status":"ok"}`)
			return
		}
		attempts.Add(1)
		fail(w)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, attempts
}

// cutConnection closes the connection without an answer.
func cutConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// A request whose replica cuts its connection before answering is tried
// on another replica, once on the failing one.
func TestFailureBeforeTheFirstByteIsRetriedOnAnotherReplica(t *testing.T) {
	bad, attempts := failing(t, cutConnection)
	good := newCounted(t, standin.Options{})
	m := remoteModel(bad, good.url)
	m.UnhealthyAfter = 100 // no ejection: every request meets the failing replica first or second
	f := startFront(t, m, "", remoteOptions())
	f.waitState(t, bad, "ready")
	f.waitState(t, good.url, "ready")
	for i := range 6 {
		before := attempts.Load()
		if r := f.post(chatBody); r.status != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
		}
		if n := attempts.Load() - before; n > 1 {
			t.Fatalf("request %d was tried %d times on the replica that failed it", i, n)
		}
	}
	if attempts.Load() == 0 || good.requests.Load() != 6 {
		t.Fatalf("the failing replica was tried %d times, the good one served %d of 6", attempts.Load(), good.requests.Load())
	}
}

// A replica that passes its probes but cuts every request is ejected
// after unhealthy_after of them in a row.
func TestReplicaFailingEveryRequestIsEjectedThoughItsProbesPass(t *testing.T) {
	bad, _ := failing(t, cutConnection)
	good := newCounted(t, standin.Options{})
	f := startFront(t, remoteModel(bad, good.url), "", remoteOptions()) // unhealthy_after: 2
	f.waitState(t, bad, "ready")
	f.waitState(t, good.url, "ready")
	for range 8 {
		if r := f.post(chatBody); r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if f.replicaState(bad) == "ejected" {
			break
		}
	}
	if st := f.replica(t, bad); st.StateName != "ejected" || !strings.Contains(st.Reason, "requests in a row failed") {
		t.Fatalf("the failing replica: %+v", st)
	}
}

// A 503 (a host custos not ready or draining, a llama-server loading) is
// tried on another replica while one is ready.
func TestUnavailableAnswerIsRetriedOnAnotherReplica(t *testing.T) {
	unavailable, attempts := failing(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"message":"custos is shutting down","type":"unavailable_error","code":"shutting_down"}}`)
	})
	good := newCounted(t, standin.Options{})
	m := remoteModel(unavailable, good.url)
	m.UnhealthyAfter = 100
	f := startFront(t, m, "", remoteOptions())
	f.waitState(t, unavailable, "ready")
	f.waitState(t, good.url, "ready")
	for i := range 4 {
		if r := f.post(chatBody); r.status != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
		}
	}
	if attempts.Load() == 0 {
		t.Fatal("the unavailable replica was never tried: the test proves nothing")
	}
}

// The last replica's 503 is the client's answer, as it came.
func TestUnavailableAnswerOfTheLastReplicaIsPassedOn(t *testing.T) {
	unavailable, _ := failing(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"message":"paused","type":"unavailable_error","code":"inference_paused"}}`)
	})
	f := startFront(t, remoteModel(unavailable), "", remoteOptions())
	f.waitState(t, unavailable, "ready")
	r := f.post(chatBody)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "inference_paused") || r.header.Get("Retry-After") != "7" {
		t.Fatalf("status %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
}

// Every ready replica failing a request ends it with 502 without a
// fallback.
func TestEveryReplicaFailingARequestIs502(t *testing.T) {
	a, _ := failing(t, cutConnection)
	b, _ := failing(t, cutConnection)
	m := remoteModel(a, b)
	m.UnhealthyAfter = 100
	f := startFront(t, m, "", remoteOptions())
	f.waitState(t, a, "ready")
	f.waitState(t, b, "ready")
	r := f.post(chatBody)
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, `"code":"backend_failed"`) {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
}
