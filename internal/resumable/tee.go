package resumable

import (
	"context"
	"net/http"
	"strings"
)

// Wrap serves next so that a request carrying HeaderName outlives its client: next runs on a context the
// client's disconnect does not end, its answer goes both to the client, while it is there, and into a new
// session of the store, and only Cancel, a newer request of the same conversation or next's own end stop
// it. An answer that is not an event stream (an error, a JSON body) is not kept: there is nothing to resume.
// The header is taken off the request, so a backend behind the gateway does not keep a second copy.
func (st *Store) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderName)
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		defer cancel()
		s := st.start(id, cancel)
		t := &tee{client: w, session: s, clientGone: r.Context().Done()}
		defer func() {
			if t.streamed() {
				s.finish(st.Now())
			} else {
				st.remove(s)
			}
		}()
		r = r.WithContext(ctx)
		r.Header.Del(HeaderName)
		next.ServeHTTP(t, r)
	})
}

// tee is the ResponseWriter of a resumable request. Once the client is gone, its writes still go to the
// session and succeed: the generation must not see the client's disconnect as its own end.
type tee struct {
	client     http.ResponseWriter
	session    *Session
	clientGone <-chan struct{}
	lost       bool // a write to the client failed, or it went away
	status     int
}

func (t *tee) Header() http.Header { return t.client.Header() }

func (t *tee) WriteHeader(status int) {
	if t.status == 0 {
		t.status = status
	}
	t.client.WriteHeader(status)
}

// streamed says whether the answer was an event stream, the only kind a client resumes.
func (t *tee) streamed() bool {
	return t.status == http.StatusOK && strings.HasPrefix(t.client.Header().Get("Content-Type"), "text/event-stream")
}

func (t *tee) Write(p []byte) (int, error) {
	if t.status == 0 {
		t.WriteHeader(http.StatusOK)
	}
	if t.streamed() {
		if _, err := t.session.Write(p); err != nil {
			return 0, err
		}
	}
	if t.clientThere() {
		if _, err := t.client.Write(p); err != nil {
			t.lost = true
		}
	}
	return len(p), nil
}

// FlushError flushes to the client while it is there; a client gone is not an error of the stream.
func (t *tee) FlushError() error {
	if t.clientThere() {
		if err := http.NewResponseController(t.client).Flush(); err != nil {
			t.lost = true
		}
	}
	return nil
}

// Unwrap lets http.ResponseController reach the connection's other controls.
func (t *tee) Unwrap() http.ResponseWriter { return t.client }

func (t *tee) clientThere() bool {
	if t.lost {
		return false
	}
	select {
	case <-t.clientGone:
		t.lost = true
		return false
	default:
		return true
	}
}
