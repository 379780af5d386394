package remote_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"custos/internal/standin"
)

// Requests in flight at once are spread over the replicas by their
// count in flight: with the first replica holding requests, the others
// go to the second.
func TestLeastRequestsSpreadsRequestsInFlight(t *testing.T) {
	a, b := newCounted(t, standin.Options{}), newCounted(t, standin.Options{})
	f := startFront(t, remoteModel(a.url, b.url), "", remoteOptions())
	f.waitState(t, a.url, "ready")
	f.waitState(t, b.url, "ready")

	releaseA, releaseB := a.holdRequests(), b.holdRequests()
	defer releaseA()
	defer releaseB()
	var wg sync.WaitGroup
	statuses := make(chan int, 6)
	for range 6 {
		wg.Go(func() { statuses <- f.post(chatBody).status })
	}
	eventually(t, "6 requests in flight at the replicas", func() bool { return a.inFlight.Load()+b.inFlight.Load() == 6 })
	// Two picks at the same instant may see the same counts: 3 and 3 is
	// the rule, 4 and 2 its race, and 5 and 1 or worse is no spreading.
	if a.inFlight.Load() < 2 || b.inFlight.Load() < 2 {
		t.Fatalf("in flight: %d on the first replica, %d on the second; want them spread", a.inFlight.Load(), b.inFlight.Load())
	}
	releaseA()
	releaseB()
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("a request got %d", s)
		}
	}
}

// One request after another visits every replica: ties rotate.
func TestLeastRequestsRotatesTies(t *testing.T) {
	a, b := newCounted(t, standin.Options{}), newCounted(t, standin.Options{})
	f := startFront(t, remoteModel(a.url, b.url), "", remoteOptions())
	f.waitState(t, a.url, "ready")
	f.waitState(t, b.url, "ready")
	for range 10 {
		if r := f.post(chatBody); r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	if a.requests.Load() == 0 || b.requests.Load() == 0 {
		t.Fatalf("10 requests in a row: %d on the first replica, %d on the second", a.requests.Load(), b.requests.Load())
	}
}

// A streamed answer passes through a replica event by event, naming the
// model the client asked for.
func TestStreamPassesThroughAReplica(t *testing.T) {
	a := newCounted(t, standin.Options{})
	f := startFront(t, remoteModel(a.url), "", remoteOptions())
	f.waitState(t, a.url, "ready")
	r := f.post(`{"model":"tiny","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") ||
		!strings.Contains(r.body, `"model":"tiny"`) || !strings.Contains(r.body, "data: [DONE]") {
		t.Fatalf("status %d, %s: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
}
