// Package resumable keeps a streamed answer alive past its client: a streaming request that carries an
// X-Conversation-Id header goes on when the client disconnects, its bytes are kept, and the client (or a new
// tab) reads them again with GET /v1/stream?conv_id=<id>&from=<offset>, as llama-server's resumable streams
// do. Both the runner and the gateway serve it: in front of any backend, the gateway keeps the session itself.
package resumable

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// HeaderName is the request header that makes a stream resumable.
const HeaderName = "X-Conversation-Id"

// Limits of llama-server's sessions (tools/server/server-stream.cpp), kept so a client sees the same.
const (
	// DefaultSessionBytes is the most one session keeps; older bytes are dropped first.
	DefaultSessionBytes = 4 << 20
	// DefaultTTL is how long a finished session stays readable.
	DefaultTTL = 5 * time.Minute
	// DefaultBudgetBytes bounds what all finished sessions hold together, which llama-server leaves
	// unbounded: past it, the oldest finished sessions go first. Live sessions are bounded by the requests
	// in flight.
	DefaultBudgetBytes = 256 << 20
)

// Store holds the sessions by conversation id: one conversation has at most one live session.
type Store struct {
	SessionBytes int
	TTL          time.Duration
	BudgetBytes  int
	Now          func() time.Time

	mu       sync.Mutex
	sessions map[string]*Session
}

// NewStore is a store with llama-server's limits.
func NewStore() *Store {
	return &Store{SessionBytes: DefaultSessionBytes, TTL: DefaultTTL, BudgetBytes: DefaultBudgetBytes,
		Now: time.Now, sessions: map[string]*Session{}}
}

// start installs a new session for id; a previous one of the same conversation is cancelled, as a new
// question in a conversation supersedes the answer still being written.
func (st *Store) start(id string, cancel func()) *Session {
	now := st.Now()
	s := newSession(id, now, st.SessionBytes, cancel)
	st.mu.Lock()
	previous := st.sessions[id]
	st.sessions[id] = s
	st.sweepLocked(now)
	st.mu.Unlock()
	if previous != nil {
		previous.stop(now)
	}
	return s
}

// get returns the session of id, if it is still kept.
func (st *Store) get(id string) *Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked(st.Now())
	return st.sessions[id]
}

// remove forgets s, if it is still the session of its conversation; it finishes s either way.
func (st *Store) remove(s *Session) {
	st.mu.Lock()
	if st.sessions[s.ConversationID] == s {
		delete(st.sessions, s.ConversationID)
	}
	st.mu.Unlock()
	s.finish(st.Now())
}

// Cancel stops the session of id, its generation too, and forgets it: the client's explicit stop.
func (st *Store) Cancel(id string) {
	st.mu.Lock()
	s := st.sessions[id]
	delete(st.sessions, id)
	st.mu.Unlock()
	if s != nil {
		s.stop(st.Now())
	}
}

// Lookup snapshots the sessions of the given conversations. An id matches its own session and those
// llama-server's web UI names "<id>::<model>", one per model of a conversation.
func (st *Store) Lookup(ids []string) []Snapshot {
	st.mu.Lock()
	st.sweepLocked(st.Now())
	var found []*Session
	for _, id := range ids {
		if id == "" {
			continue
		}
		for key, s := range st.sessions {
			if key == id || strings.HasPrefix(key, id+"::") {
				found = append(found, s)
			}
		}
	}
	st.mu.Unlock()
	out := make([]Snapshot, 0, len(found))
	for _, s := range found {
		out = append(out, s.Snapshot())
	}
	return out
}

// Close finishes every session, so no reader waits on a store that is going away.
func (st *Store) Close() {
	st.mu.Lock()
	all := st.sessions
	st.sessions = map[string]*Session{}
	st.mu.Unlock()
	for _, s := range all {
		s.finish(st.Now())
	}
}

// sweepLocked forgets the finished sessions past their TTL, then, while the finished ones hold more than
// the budget, the oldest finished first.
func (st *Store) sweepLocked(now time.Time) {
	type finished struct {
		s    *Session
		at   time.Time
		size int
	}
	var kept []finished
	total := 0
	for id, s := range st.sessions {
		at, done := s.completed()
		if !done {
			continue
		}
		if now.Sub(at) >= st.TTL {
			delete(st.sessions, id)
			continue
		}
		f := finished{s, at, s.size()}
		kept = append(kept, f)
		total += f.size
	}
	if total <= st.BudgetBytes {
		return
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].at.Before(kept[j].at) })
	for _, f := range kept {
		if total <= st.BudgetBytes {
			return
		}
		delete(st.sessions, f.s.ConversationID)
		total -= f.size
	}
}
