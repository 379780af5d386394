package resumable

import (
	"errors"
	"sync"
	"time"
)

// errSessionOver is what a write gets once the session is finished or cancelled: the generation behind it
// has nobody left to write for.
var errSessionOver = errors.New("resumable: the stream's session is over")

// Session holds the bytes of one streamed answer, from its first byte, so a client can read them again
// from any offset while the answer is being written and for a while after. It keeps at most maxBytes: when
// more arrive, the oldest are dropped and an offset before them is lost.
type Session struct {
	ConversationID string
	StartedAt      time.Time

	cancel func() // ends the generation writing into the session

	mu          sync.Mutex
	buf         []byte
	dropped     int // bytes dropped from the front
	maxBytes    int
	done        bool
	completedAt time.Time
	// grew is closed and replaced whenever bytes arrive or the session ends, waking every reader.
	grew chan struct{}
}

func newSession(id string, now time.Time, maxBytes int, cancel func()) *Session {
	return &Session{ConversationID: id, StartedAt: now, cancel: cancel, maxBytes: maxBytes, grew: make(chan struct{})}
}

// Write appends p; it fails once the session is finished, which tells the writer to stop.
func (s *Session) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return 0, errSessionOver
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) >= s.maxBytes {
		s.dropped += len(s.buf) + len(p) - s.maxBytes
		s.buf = append(s.buf[:0], p[len(p)-s.maxBytes:]...)
	} else {
		if over := len(s.buf) + len(p) - s.maxBytes; over > 0 {
			s.buf = append(s.buf[:0], s.buf[over:]...)
			s.dropped += over
		}
		s.buf = append(s.buf, p...)
	}
	s.wakeLocked()
	return len(p), nil
}

// finish marks the answer complete: readers get what is left and end. It is idempotent.
func (s *Session) finish(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	s.completedAt = now
	s.wakeLocked()
}

// stop cancels the generation behind the session and finishes it.
func (s *Session) stop(now time.Time) {
	s.cancel()
	s.finish(now)
}

func (s *Session) wakeLocked() {
	close(s.grew)
	s.grew = make(chan struct{})
}

// Snapshot is what a lookup tells about a session.
type Snapshot struct {
	ConversationID string
	Done           bool
	TotalBytes     int
	StartedAt      time.Time
	CompletedAt    time.Time // zero while the answer is being written
}

// Snapshot reads the session's state.
func (s *Session) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Snapshot{ConversationID: s.ConversationID, Done: s.done, TotalBytes: s.dropped + len(s.buf),
		StartedAt: s.StartedAt, CompletedAt: s.completedAt}
}

// size is the bytes the session holds now, for the store's budget.
func (s *Session) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cap(s.buf)
}

// completed says when the answer ended, and whether it has.
func (s *Session) completed() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.completedAt, s.done
}

// errOffsetLost is a read from before the bytes the session still holds.
var errOffsetLost = errors.New("resumable: offset lost")

// next returns the bytes from offset that have arrived, or, when there are none yet, a channel closed when
// more arrive. over means the session has ended and offset is at its end.
func (s *Session) next(offset int) (chunk []byte, wait <-chan struct{}, over bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if offset < s.dropped {
		return nil, nil, false, errOffsetLost
	}
	if end := s.dropped + len(s.buf); offset < end {
		return append([]byte(nil), s.buf[offset-s.dropped:]...), nil, false, nil
	}
	if s.done {
		return nil, nil, true, nil
	}
	return nil, s.grew, false, nil
}

// lost says whether offset is before the bytes the session still holds.
func (s *Session) lost(offset int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return offset < s.dropped
}
