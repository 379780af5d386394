package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"custos/internal/llama"
)

// sseEvent is one event of a typed event stream ("event: <name>" then "data: <json>"), as the Responses and
// Anthropic Messages APIs stream.
type sseEvent struct {
	name string
	data any
}

// writeEvent sends one typed event, without flushing.
func (s *sse) writeEvent(ev sseEvent) error {
	b, err := json.Marshal(ev.data)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", ev.name, b)
	return err
}

// eventStreamer turns a task's output into one API's typed events: opening events, events for each piece of
// text, and closing events for the result or for a failure after the stream began.
type eventStreamer interface {
	open() []sseEvent
	text(text string, tokens []llama.Token) []sseEvent
	close(res *result) []sseEvent
	fail(err *apiError) []sseEvent
}

// streamTypedTask answers t as a typed event stream. Like streamTask, it waits for the task's first event
// before answering, so a task the scheduler refuses gets a plain error status, and it flushes when it has
// caught up with the scheduler.
func streamTypedTask(ctx context.Context, w http.ResponseWriter, t *task, es eventStreamer) {
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
	send := func(evs []sseEvent) bool {
		for _, e := range evs {
			if out.writeEvent(e) != nil {
				return false // the client is gone; its request context ends the task
			}
		}
		return true
	}
	if !send(es.open()) {
		return
	}
	for {
		if ev.text != "" && !send(es.text(ev.text, ev.tokens)) {
			return
		}
		if res := ev.final; res != nil {
			if res.err != nil {
				send(es.fail(res.err))
			} else {
				send(es.close(res))
			}
			_ = out.flush()
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
