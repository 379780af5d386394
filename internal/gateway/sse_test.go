package gateway

import (
	"strings"
	"testing"
)

// Whatever the upstream's reads cut, the framer passes on exactly the
// bytes of whole events, in order, and holds back only the event still
// incomplete; at the end of the stream it passes on the rest.
func TestSSEFramerPassesWholeEventsOnlyWhateverTheReadsCut(t *testing.T) {
	streams := []string{
		"data: a\n\ndata: b\n\n",
		"data: a\r\n\r\ndata: b\r\n\r\n",
		"data: a\r\rdata: b\r\r",
		"event: x\ndata: a\ndata: a2\n\n: comment\n\ndata: [DONE]\n\n",
		"data: a\n\ndata: last without its blank line\n",
	}
	for _, stream := range streams {
		for cut := 1; cut < len(stream); cut++ {
			f := newSSEFramer()
			var out strings.Builder
			for _, part := range []string{stream[:cut], stream[cut:]} {
				passed := string(f.feed([]byte(part)))
				out.WriteString(passed)
				if passed != "" && !endsAnEvent(out.String()) {
					t.Fatalf("%q cut at %d: passed on %q, which ends inside an event", stream, cut, out.String())
				}
			}
			out.Write(f.rest())
			if out.String() != stream {
				t.Fatalf("%q cut at %d: passed on %q", stream, cut, out.String())
			}
		}
	}
}

func endsAnEvent(s string) bool {
	for _, end := range []string{"\n\n", "\r\r", "\r\n\r\n", "\n\r\n", "\r\n\n", "\n\r"} {
		if strings.HasSuffix(s, end) {
			return true
		}
	}
	return false
}

// An event stream that never ends an event is passed on once it outgrows
// what the framer holds, rather than buffered whole.
func TestSSEFramerDoesNotHoldAnEndlessEvent(t *testing.T) {
	f := newSSEFramer()
	chunk := []byte(strings.Repeat("x", 64<<10))
	passed := 0
	for range 20 {
		passed += len(f.feed(chunk))
	}
	if passed < 20*len(chunk)-maxHeldEvent {
		t.Fatalf("held %d bytes of an event without end", 20*len(chunk)-passed)
	}
}
