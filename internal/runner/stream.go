package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// sse writes a text/event-stream response, flushing every event so the client sees each token at once.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	return &sse{w: w, rc: http.NewResponseController(w)}
}

// write sends one "data: <json>" event, without flushing.
func (s *sse) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.w, "data: %s\n\n", b)
	return err
}

func (s *sse) flush() error { return s.rc.Flush() }

// done sends OpenAI's end-of-stream marker.
func (s *sse) done() error {
	_, err := fmt.Fprint(s.w, "data: [DONE]\n\n")
	return err
}

// chunker turns a task's events into the JSON chunks of one endpoint's stream: text (of one choice), which
// may be nil (nothing to send yet) or a []any of several events, then the closing chunks of the final result.
type chunker interface {
	text(ev event) any
	final(res *result) []any
}

// writeEvents sends v, one event, several ([]any) or none (nil).
func (s *sse) writeEvents(v any) error {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		for _, one := range v {
			if err := s.write(one); err != nil {
				return err
			}
		}
		return nil
	}
	return s.write(v)
}

// streamTask answers t as a stream. It waits for the first event before answering, so a task refused by the
// scheduler still gets a proper error status; a failure later arrives as a {"error":...} event. openAI adds
// the [DONE] marker OpenAI clients wait for. It flushes when it has caught up with the scheduler, so a
// client that reads slower than tokens come gets them in fewer, larger writes.
func streamTask(ctx context.Context, w http.ResponseWriter, t *task, c chunker, openAI bool) {
	ev, ok := nextEvent(ctx, t)
	if !ok {
		return
	}
	if ev.final != nil && ev.final.err != nil {
		writeError(w, ev.final.err)
		return
	}
	out := startSSE(w)
	wait := newPinger(out, t.params.pingInterval)
	for {
		if ev.text != "" || ev.progress != nil || ev.echo {
			if out.writeEvents(c.text(ev)) != nil {
				return // the client is gone; its request context ends the task
			}
		}
		if res := ev.final; res != nil {
			writeFinal(out, c, res, openAI)
			return
		}
		if len(t.events) == 0 && out.flush() != nil {
			return
		}
		if ev, ok = wait.next(ctx, t); !ok {
			return
		}
	}
}

// writeFinal sends the closing chunks of a stream, or its error event.
func writeFinal(out *sse, c chunker, res *result, openAI bool) {
	defer func() { _ = out.flush() }()
	if res.err != nil {
		_ = out.write(errorBody(res.err))
		return
	}
	for _, chunk := range c.final(res) {
		if out.write(chunk) != nil {
			return
		}
	}
	if openAI {
		_ = out.done()
	}
}
