package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"custos/internal/changes"
	"custos/internal/livestats"
	"custos/internal/supervisor"
)

// sseEvent is one event read from a stream.
type sseEvent struct {
	name, data string
	comment    bool
}

// sseReader reads a stream's events on a goroutine of its own, so every
// wait for one has a deadline.
type sseReader struct {
	t      *testing.T
	events chan sseEvent
	resp   *http.Response
}

func openStream(t *testing.T, ctx context.Context, url string) *sseReader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := &sseReader{t: t, events: make(chan sseEvent, 1024), resp: resp}
	go r.read(bufio.NewReader(resp.Body))
	return r
}

func (r *sseReader) read(br *bufio.Reader) {
	defer close(r.events)
	var ev sseEvent
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			r.events <- ev
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			ev.comment, ev.data = true, strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[len("data: "):]
		case strings.HasPrefix(line, "retry: "):
			ev.name, ev.data = "retry", line[len("retry: "):]
		}
	}
}

// next returns the next event, failing the test after d.
func (r *sseReader) next(d time.Duration, what string) sseEvent {
	r.t.Helper()
	select {
	case ev, ok := <-r.events:
		if !ok {
			r.t.Fatalf("the stream ended while waiting for %s", what)
		}
		return ev
	case <-time.After(d):
		r.t.Fatalf("no event within %v while waiting for %s", d, what)
	}
	return sseEvent{}
}

// until returns the first event named name, failing after d.
func (r *sseReader) until(name string, d time.Duration) sseEvent {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ev := r.next(time.Until(deadline), "event "+name)
		if ev.name == name {
			return ev
		}
	}
}

type eventsFixture struct {
	a       *API
	backend *fakeBackend
	feed    *changes.Feed
	live    *livestats.Stats
	url     string
}

func newEventsFixture(t *testing.T) *eventsFixture {
	a, b, _ := newAPI(supervisor.StateReady)
	f := &eventsFixture{a: a, backend: b, feed: changes.New(), live: livestats.New([]string{"tiny"})}
	a.opts.Changes, a.opts.Live = f.feed.Changed, f.live
	f.url = sessionServer(t, a).URL
	return f
}

// The stream opens with retry, the status exactly as GET /status has it,
// and the history, then the figures of each second.
func TestEventsStreamOpensWithStatusAndHistoryThenStats(t *testing.T) {
	f := newEventsFixture(t)
	f.live.Record("tiny", livestats.Outcome{Status: 200, TTFB: 3 * time.Millisecond, Tokens: 4})
	connecting := time.Now().Unix()
	s := openStream(t, context.Background(), f.url+"/admin/events")
	if ev := s.next(5*time.Second, "retry"); ev.name != "retry" || ev.data != "2000" {
		t.Fatalf("first: got %+v, want retry: 2000", ev)
	}
	ev := s.next(5*time.Second, "status")
	if ev.name != "status" {
		t.Fatalf("second: got %+v, want the status", ev)
	}
	var streamed, polled map[string]any
	if err := json.Unmarshal([]byte(ev.data), &streamed); err != nil {
		t.Fatalf("status data %q: %v", ev.data, err)
	}
	if err := json.Unmarshal(serve(f.a, "GET", "/status", "").Body.Bytes(), &polled); err != nil {
		t.Fatal(err)
	}
	delete(streamed, "uptime")
	delete(polled, "uptime")
	if a, b := fmt.Sprint(streamed), fmt.Sprint(polled); a != b {
		t.Fatalf("the status event is not GET /status:\nevent  %s\nstatus %s", a, b)
	}
	ev = s.next(5*time.Second, "history")
	var h livestats.History
	if ev.name != "history" || json.Unmarshal([]byte(ev.data), &h) != nil || h.IntervalSeconds != 1 {
		t.Fatalf("third: got %+v, want the history", ev)
	}
	var st livestats.Point
	ev = s.until("stats", 5*time.Second)
	if json.Unmarshal([]byte(ev.data), &st) != nil || st.T < connecting || st.T >= time.Now().Unix() {
		t.Fatalf("stats: got %s, want the second of the connection, ended", ev.data)
	}
	// The history ends where the stats begin (it is empty when the figures
	// began in the second of the connection).
	if n := len(h.Points); n > 0 && st.T != h.Points[n-1].T+1 {
		t.Fatalf("the first stats is second %d, the history ends at %d: want the next second", st.T, h.Points[n-1].T)
	}
	total := 0
	for _, p := range append(h.Points, st) {
		total += p.Models["tiny"].Requests
	}
	if total != 1 {
		t.Fatalf("history and the first stats count %d requests, want the 1 recorded", total)
	}
}

// A change is pushed as a status event with the new state.
func TestEventsStreamPushesAChangedState(t *testing.T) {
	f := newEventsFixture(t)
	s := openStream(t, context.Background(), f.url+"/admin/events")
	s.until("status", 5*time.Second)
	f.backend.setState(supervisor.StateBackoff)
	f.feed.Notify()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev := s.next(time.Until(deadline), "a status event with the backend in backoff")
		if ev.name == "status" && strings.Contains(ev.data, `"state":"backoff"`) {
			return
		}
	}
}

// A burst of changes makes at most one status event per 250 ms.
func TestEventsStreamCoalescesABurstOfChanges(t *testing.T) {
	f := newEventsFixture(t)
	s := openStream(t, context.Background(), f.url+"/admin/events")
	s.until("status", 5*time.Second)
	begin := time.Now()
	for time.Since(begin) < time.Second {
		f.feed.Notify()
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(begin)
	statuses := 0
	for draining := true; draining; {
		select {
		case ev := <-s.events:
			if ev.name == "status" {
				statuses++
			}
		case <-time.After(400 * time.Millisecond):
			draining = false
		}
	}
	if limit := int(elapsed/statusCoalesce) + 2; statuses < 1 || statuses > limit {
		t.Fatalf("%d status events for ~%d changes over %v, want between 1 and %d", statuses, int(elapsed/(2*time.Millisecond)), elapsed, limit)
	}
}

// EndStreams (custos shutting down) ends a stream at once.
func TestEventsStreamEndsWhenCustosShutsDown(t *testing.T) {
	f := newEventsFixture(t)
	s := openStream(t, context.Background(), f.url+"/admin/events")
	s.until("status", 5*time.Second)
	f.a.EndStreams()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end within 5s of EndStreams")
		}
	}
}

func TestEventsStreamIsAnOperatorRoute(t *testing.T) {
	f := newEventsFixture(t)
	rec := serve(f.a, "GET", "/admin/events", "192.0.2.1:5555")
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "admin_loopback_only") {
		t.Fatalf("another host: got %d %s", rec.Code, rec.Body)
	}
}

// A stream that fell behind by seconds (a slow client, a busy machine)
// sends each missed second rather than skip it, and at most the window.
func TestEventsStreamCatchesUpOnMissedSeconds(t *testing.T) {
	now := time.Unix(1_800_000_100, 60*int64(time.Millisecond))
	for _, tc := range []struct{ last, from, to int64 }{
		{1_800_000_098, 1_800_000_099, 1_800_000_099},        // on time: the second just ended
		{1_800_000_095, 1_800_000_096, 1_800_000_099},        // 3 seconds late: all of them
		{1_800_000_099, 1_800_000_100, 1_800_000_099},        // already sent: none
		{0, 1_800_000_100 - livestats.Window, 1_800_000_099}, // far behind: the window
	} {
		if from, to := secondsDue(tc.last, now); from != tc.from || to != tc.to {
			t.Errorf("after %d: got %d..%d, want %d..%d", tc.last, from, to, tc.from, tc.to)
		}
	}
}
