package proctest

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Event is one server-sent event: its name ("message" when it has none)
// and its data lines joined.
type Event struct {
	Name, Data string
}

// Events reads a text/event-stream on a goroutine of its own, so that
// every wait for an event has a deadline. Comments and retry lines are
// skipped.
type Events struct {
	t      testing.TB
	events chan Event
	cancel context.CancelFunc
}

// OpenEvents GETs url and reads its events until the test ends; the answer
// must be 200 text/event-stream.
func OpenEvents(t testing.TB, url string) *Events {
	t.Helper()
	return OpenEventsWith(t, url, nil)
}

// OpenEventsWith is OpenEvents with the request changed by edit first
// (credentials).
func OpenEventsWith(t testing.TB, url string, edit func(*http.Request)) *Events {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	// No client timeout: a stream lasts; each wait below has its own.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d %s, want 200 text/event-stream", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	e := &Events{t: t, events: make(chan Event, 4096), cancel: cancel}
	t.Cleanup(e.Close)
	go func() {
		defer resp.Body.Close()
		defer close(e.events)
		br := bufio.NewReader(resp.Body)
		ev := Event{}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			switch {
			case line == "":
				if ev.Name != "" || ev.Data != "" {
					if ev.Name == "" {
						ev.Name = "message"
					}
					e.events <- ev
				}
				ev = Event{}
			case strings.HasPrefix(line, "event:"):
				ev.Name = strings.TrimSpace(line[len("event:"):])
			case strings.HasPrefix(line, "data:"):
				if ev.Data != "" {
					ev.Data += "\n"
				}
				ev.Data += strings.TrimPrefix(line[len("data:"):], " ")
			}
		}
	}()
	return e
}

// Close stops reading and closes the connection.
func (e *Events) Close() { e.cancel() }

// Until returns the first event named name for which match (nil: any)
// holds, failing the test if none comes within the given time or the
// stream ends first.
func (e *Events) Until(name string, within time.Duration, match func(data string) bool) Event {
	e.t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-e.events:
			if !ok {
				e.t.Fatalf("the event stream ended while waiting for an event %q", name)
			}
			if ev.Name == name && (match == nil || match(ev.Data)) {
				return ev
			}
		case <-deadline.C:
			e.t.Fatalf("timed out after %v waiting for an event %q", within, name)
		}
	}
}

// Ended reports whether the stream ends within the given time (events
// still unread are skipped).
func (e *Events) Ended(within time.Duration) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-e.events:
			if !ok {
				return true
			}
		case <-deadline.C:
			return false
		}
	}
}
