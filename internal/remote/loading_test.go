package remote_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"custos/internal/standin"
)

// A replica still loading (503 with its progress) is waited for, and
// requests meanwhile go to the one that is ready; a replica nobody
// answers at is ejected, not waited for.
func TestLoadingReplicaIsWaitedForAndAnUnreachableOneEjected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	loading := newCounted(t, standin.Options{LoadTime: 1500 * time.Millisecond})
	ready := newCounted(t, standin.Options{})
	f := startFront(t, remoteModel(dead, loading.url, ready.url), "", remoteOptions())
	f.waitState(t, ready.url, "ready")
	f.waitState(t, dead, "ejected")
	if st := f.replicaState(loading.url); st != "loading" {
		t.Fatalf("the loading replica is %s", st)
	}
	if r := f.post(chatBody); r.status != http.StatusOK || loading.requests.Load() != 0 {
		t.Fatalf("status %d; %d requests sent to the loading replica", r.status, loading.requests.Load())
	}
	f.waitState(t, loading.url, "ready")
	if st := f.replica(t, loading.url); st.Ejections != 0 {
		t.Fatalf("the replica that loaded was ejected meanwhile: %+v", st)
	}
}

// A loading replica that reports no progress for ready_timeout (it
// answers its probes 503, and never with a new progress) is ejected, as a
// local backend's stalled load is killed.
func TestStalledLoadIsEjected(t *testing.T) {
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`)
	}))
	t.Cleanup(stalled.Close)
	m := remoteModel(stalled.URL)
	m.ReadyTimeout = 400 * time.Millisecond
	f := startFront(t, m, "", remoteOptions())
	f.waitState(t, stalled.URL, "ejected")
	if st := f.replica(t, stalled.URL); !strings.Contains(st.Reason, "no load progress") {
		t.Fatalf("ejected for %q", st.Reason)
	}
}

// A replica that answers its probes and fails every inference with 500
// is checked with a generation after unhealthy_after_errors such answers,
// and ejected when that fails too.
func TestReplicaFailingEveryInferenceIsEjectedByItsGenerationCheck(t *testing.T) {
	bad := newCounted(t, standin.Options{FailInference: true})
	good := newCounted(t, standin.Options{})
	m := remoteModel(bad.url, good.url)
	m.UnhealthyAfterErrors = 3
	f := startFront(t, m, "", remoteOptions())
	f.waitState(t, bad.url, "ready")
	f.waitState(t, good.url, "ready")
	for range 20 {
		f.post(chatBody)
		if f.replicaState(bad.url) == "ejected" {
			break
		}
	}
	f.waitState(t, bad.url, "ejected")
	if st := f.replica(t, bad.url); !strings.Contains(st.Reason, "consecutive 5xx answers") {
		t.Fatalf("ejected for %q", st.Reason)
	}
	for range 4 {
		if r := f.post(chatBody); r.status != http.StatusOK {
			t.Fatalf("after the ejection: status %d", r.status)
		}
	}
}
