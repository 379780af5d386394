package gateway

// sseFramer passes a server-sent-events stream on in whole events: it
// holds back the bytes of an event until the blank line that ends it. So
// a stream that breaks in the middle of an event can still end with one
// well-formed error event, with no half event before it for the client to
// misparse. Events usually arrive whole, one per read, and then pass
// through without a copy.
type sseFramer struct {
	held []byte // the start of an event whose end has not arrived
	// Scanner state, carried across reads.
	scanned     int  // bytes of held already scanned
	atLineStart bool // the last byte scanned ended a line
	afterCR     bool // the last byte scanned was a CR (a LF next is part of it)
	lost        bool // an event outgrew maxHeldEvent: pass bytes on as they come
}

// maxHeldEvent bounds what the framer holds back: a "stream" without blank
// lines is passed on as it comes rather than buffered whole.
const maxHeldEvent = 1 << 20

func newSSEFramer() *sseFramer { return &sseFramer{atLineStart: true} }

// feed takes the next bytes of the stream and returns those that complete
// events, ready to pass on; the returned slice is valid until the next
// call.
func (f *sseFramer) feed(p []byte) []byte {
	if f.lost {
		return p
	}
	if len(f.held) == 0 {
		end := f.scan(p)
		if end == len(p) {
			return p
		}
		f.held = append(f.held, p[end:]...)
		f.scanned = len(f.held)
		return p[:end]
	}
	start := f.scanned
	f.held = append(f.held, p...)
	end := f.scanFrom(f.held, start)
	if end < 0 {
		f.scanned = len(f.held)
		if len(f.held) > maxHeldEvent {
			f.lost = true
			out := f.held
			f.held = nil
			return out
		}
		return nil
	}
	out := make([]byte, end)
	copy(out, f.held[:end])
	rest := copy(f.held, f.held[end:])
	f.held = f.held[:rest]
	f.scanned = rest
	return out
}

// rest returns what is held at the end of the stream: a last event
// without its blank line, passed on as the upstream sent it.
func (f *sseFramer) rest() []byte {
	out := f.held
	f.held = nil
	return out
}

// scan scans p from its start and returns the end of its last complete
// event, 0 if none.
func (f *sseFramer) scan(p []byte) int {
	return max(f.scanFrom(p, 0), 0)
}

// scanFrom scans b from index from, updating the line state, and returns
// the end (exclusive) of the last blank line found, or -1. Lines end with
// LF, CR or CRLF (the SSE grammar); an event ends with an empty line.
func (f *sseFramer) scanFrom(b []byte, from int) int {
	end := -1
	for i := from; i < len(b); i++ {
		switch b[i] {
		case '\n':
			if f.afterCR {
				f.afterCR = false
				if end == i {
					end = i + 1 // the LF of a blank line's CRLF belongs to it
				}
				continue
			}
			if f.atLineStart {
				end = i + 1
			}
			f.atLineStart = true
		case '\r':
			if f.atLineStart {
				end = i + 1
			}
			f.atLineStart, f.afterCR = true, true
			continue
		default:
			f.atLineStart = false
		}
		f.afterCR = false
	}
	return end
}
