package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"custos/internal/supervisor"
)

// The logs stream sends what the ring holds, then each new line.
func TestLogsStreamSendsHeldLinesThenNewOnes(t *testing.T) {
	f := newEventsFixture(t)
	f.backend.ring.Add("stdout", "loaded the model")
	f.backend.ring.Add("stderr", `a "quoted" line`)
	s := openStream(t, context.Background(), f.url+"/admin/models/default/logs")
	want := []supervisor.LogLine{{Seq: 1, Stream: "stdout", Line: "loaded the model"}, {Seq: 2, Stream: "stderr", Line: `a "quoted" line`}, {Seq: 3, Stream: "stdout", Line: "a new line"}}
	for i, w := range want {
		if i == 2 {
			f.backend.ring.Add("stdout", "a new line")
		}
		ev := s.until("line", 5*time.Second)
		var got supervisor.LogLine
		if err := json.Unmarshal([]byte(ev.data), &got); err != nil || got != w {
			t.Fatalf("line %d: got %s (%v), want %+v", i, ev.data, err, w)
		}
	}
}

func TestLogsStreamOfAnUnknownModelIs404(t *testing.T) {
	f := newEventsFixture(t)
	rec := serve(f.a, "GET", "/admin/models/nope/logs", "")
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"model_not_found"`) {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

// A reader slower than the backend's output misses lines and is told how
// many; the backend's output is never held up for it.
func TestLogsStreamTellsASlowReaderWhatItMissed(t *testing.T) {
	f := newEventsFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openStream(t, ctx, f.url+"/admin/models/tiny/logs")
	long := strings.Repeat("x", 4096)
	const lines = 20000 // 80 MB: more than the socket buffers hold
	begin := time.Now()
	for i := range lines {
		f.backend.ring.Add("stdout", fmt.Sprint(i, long))
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("adding %d lines took %v: the ring waited for its reader", lines, d)
	}
	var received, dropped uint64
	for received+dropped < lines {
		ev := s.next(20*time.Second, fmt.Sprintf("lines or drops (%d received, %d dropped of %d)", received, dropped, lines))
		switch ev.name {
		case "line":
			received++
		case "dropped":
			var d droppedLines
			if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
				t.Fatalf("dropped data %q: %v", ev.data, err)
			}
			dropped += d.Lines
		}
	}
	if dropped == 0 || received+dropped != lines {
		t.Fatalf("received %d and dropped %d of %d lines, want some dropped and all accounted for", received, dropped, lines)
	}
}
