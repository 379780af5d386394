package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// eventStream writes server-sent events, each flushed at once. Every data
// is one line of JSON (an encoding without newlines), so an event is
// always "event: NAME\ndata: JSON\n\n".
type eventStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	// writeTimeout bounds each write: a client that stopped reading (its
	// machine asleep, a stalled proxy) ends its stream instead of holding
	// a goroutine and a connection for good.
	writeTimeout time.Duration
}

// streamWriteTimeout is how long one event may take to be written.
const streamWriteTimeout = 30 * time.Second

// startEvents answers 200 text/event-stream and asks the browser to
// reconnect after retry milliseconds when the stream breaks.
func (a *API) startEvents(w http.ResponseWriter, retryMillis int) (*eventStream, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not hold events back
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, rc: http.NewResponseController(w), writeTimeout: a.streamWriteTimeout}
	return s, s.write("retry: " + strconv.Itoa(retryMillis) + "\n\n")
}

// send writes one event whose data is v as JSON.
func (s *eventStream) send(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.sendRaw(name, data)
}

func (s *eventStream) sendRaw(name string, data []byte) error {
	buf := make([]byte, 0, len("event: \ndata: \n\n")+len(name)+len(data))
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	return s.writeBytes(buf)
}

// comment writes a comment line, which a client ignores: a keep-alive
// that tells a proxy, and custos, whether the client is still there.
func (s *eventStream) comment(text string) error { return s.write(": " + text + "\n\n") }

func (s *eventStream) write(text string) error { return s.writeBytes([]byte(text)) }

func (s *eventStream) writeBytes(b []byte) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil {
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}
