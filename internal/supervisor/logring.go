package supervisor

import "sync"

// logRing keeps the last lines a backend wrote, for /status and for the
// warning logged when a backend dies. Two reader goroutines (stdout and
// stderr) write; any goroutine reads a copy.
type logRing struct {
	mu    sync.Mutex
	lines []string
	next  int // where the next line goes once the ring is full
	full  bool
}

func newLogRing(size int) *logRing {
	return &logRing{lines: make([]string, 0, max(size, 1))}
}

func (r *logRing) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		r.lines = append(r.lines, line)
		r.full = len(r.lines) == cap(r.lines)
		return
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
}

// snapshot returns the lines oldest first.
func (r *logRing) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}

// last returns up to n of the newest lines, oldest first.
func (r *logRing) last(n int) []string {
	all := r.snapshot()
	return all[max(len(all)-n, 0):]
}
