package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"custos/internal/httpserver"
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

// A client that stopped reading ends its stream once a write has waited
// streamWriteTimeout, instead of holding the handler forever.
func TestLogsStreamOfAClientThatStoppedReadingEnds(t *testing.T) {
	a, b, _ := newAPI(supervisor.StateReady)
	a.streamWriteTimeout = 200 * time.Millisecond
	mux := httpserver.NewMux()
	a.Register(mux)
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/logs") {
			close(ended)
		}
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /admin/models/tiny/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing; the backend prints far more than the
	// sockets' buffers hold.
	long := strings.Repeat("y", 64<<10)
	deadline := time.After(20 * time.Second)
	for i := 0; ; i++ {
		select {
		case <-ended:
			return
		case <-deadline:
			t.Fatalf("the stream of a client that reads nothing still runs 20s and %d lines of 64 KiB later", i)
		default:
		}
		b.ring.Add("stdout", long)
		if i%64 == 63 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// silentBackend is a backend whose output custos cannot follow (one it
// does not run as a process).
type silentBackend struct{ Backend }

func TestLogsStreamOfABackendWithoutOutputIs409(t *testing.T) {
	a, b, _ := newAPI(supervisor.StateReady)
	a.opts.Backends = []Backend{silentBackend{b}}
	rec := serve(a, "GET", "/admin/models/tiny/logs", "")
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), `"no_output"`) {
		t.Fatalf("got %d %s, want 409 no_output", rec.Code, rec.Body)
	}
}
