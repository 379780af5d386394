package supervisor

import "sync"

// LogLine is one line a backend printed, numbered in the order printed
// since custos started supervising it.
type LogLine struct {
	Seq    uint64 `json:"seq"`
	Stream string `json:"stream"` // stdout or stderr
	Line   string `json:"line"`
}

// LogRing keeps the last lines a backend wrote, for /status, for the
// warning logged when a backend dies, and for whoever follows them live.
// Two reader goroutines (stdout and stderr) write; any goroutine reads a
// copy. Each Backend has its own; it is exported for the tests of the
// packages that read one.
type LogRing struct {
	mu    sync.Mutex
	lines []LogLine
	next  int // where the next line goes once the ring is full
	full  bool
	seq   uint64
	subs  map[*LogSubscription]struct{}
}

// NewLogRing keeps the last size lines.
func NewLogRing(size int) *LogRing {
	return &LogRing{lines: make([]LogLine, 0, max(size, 1)), subs: map[*LogSubscription]struct{}{}}
}

// Add keeps a line and offers it to every follower, never waiting.
func (r *LogRing) Add(stream, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	l := LogLine{Seq: r.seq, Stream: stream, Line: line}
	for s := range r.subs {
		s.offer(l)
	}
	if !r.full {
		r.lines = append(r.lines, l)
		r.full = len(r.lines) == cap(r.lines)
		return
	}
	r.lines[r.next] = l
	r.next = (r.next + 1) % len(r.lines)
}

// entries returns the lines oldest first; r.mu must be held.
func (r *LogRing) entriesLocked() []LogLine {
	out := make([]LogLine, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}

// snapshot returns the lines' text oldest first.
func (r *LogRing) snapshot() []string {
	r.mu.Lock()
	entries := r.entriesLocked()
	r.mu.Unlock()
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Line
	}
	return out
}

// last returns up to n of the newest lines, oldest first.
func (r *LogRing) last(n int) []string {
	all := r.snapshot()
	return all[max(len(all)-n, 0):]
}

// Follow returns the lines held and a subscription to every later one,
// taken together so that no line is missed or repeated between them.
func (r *LogRing) Follow(buffer int) ([]LogLine, *LogSubscription) {
	s := &LogSubscription{ring: r, lines: make(chan LogLine, max(buffer, 1))}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs[s] = struct{}{}
	return r.entriesLocked(), s
}

// LogSubscription receives a backend's new output lines. The backend never
// waits for it: a line that finds its buffer full is dropped and counted.
type LogSubscription struct {
	ring    *LogRing
	lines   chan LogLine
	dropped uint64 // under ring.mu
}

// Lines delivers each new line, in order.
func (s *LogSubscription) Lines() <-chan LogLine { return s.lines }

// TakeDropped returns how many lines were dropped since it was last
// called, because the reader fell behind.
func (s *LogSubscription) TakeDropped() uint64 {
	s.ring.mu.Lock()
	defer s.ring.mu.Unlock()
	n := s.dropped
	s.dropped = 0
	return n
}

// Close ends the subscription.
func (s *LogSubscription) Close() {
	s.ring.mu.Lock()
	defer s.ring.mu.Unlock()
	delete(s.ring.subs, s)
}

// offer delivers l without waiting; ring.mu is held.
func (s *LogSubscription) offer(l LogLine) {
	select {
	case s.lines <- l:
	default:
		s.dropped++
	}
}
