package api

import (
	"net/http"
	"time"
)

// droppedLines is the data of an `event: dropped`.
type droppedLines struct {
	Lines uint64 `json:"lines"`
}

// logs is GET /admin/models/{model}/logs: the output lines the backend's
// supervisor holds, then each new line as the backend prints it, as
// `event: line`. A client that reads too slowly is sent `event: dropped`
// with how many lines it missed; the backend is never held up for it.
func (a *API) logs(w http.ResponseWriter, r *http.Request) {
	b, ok := a.backend(r.PathValue("model"))
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "no model named "+r.PathValue("model"))
		return
	}
	follower, ok := b.(LogFollower)
	if !ok {
		writeError(w, http.StatusConflict, "invalid_request_error", "no_output",
			"the backend of model "+r.PathValue("model")+" is not a process custos runs: it has no output to follow")
		return
	}
	held, sub := follower.FollowLogs()
	defer sub.Close()
	es, err := a.startEvents(w, eventsRetryMillis)
	if err != nil {
		return
	}
	for _, l := range held {
		if es.send("line", l) != nil {
			return
		}
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		var err error
		select {
		case l := <-sub.Lines():
			err = es.send("line", l)
			if n := sub.TakeDropped(); n > 0 && err == nil {
				err = es.send("dropped", droppedLines{Lines: n})
			}
		case <-ping.C:
			if n := sub.TakeDropped(); n > 0 {
				err = es.send("dropped", droppedLines{Lines: n})
			} else {
				err = es.comment("ping")
			}
		case <-r.Context().Done():
			return
		case <-a.streamsEnd:
			return
		}
		if err != nil {
			return
		}
	}
}

// backend returns the backend of a model named by id or alias.
func (a *API) backend(name string) (Backend, bool) {
	m, ok := a.opts.Config.Model(name)
	if !ok {
		return nil, false
	}
	for i, b := range a.opts.Backends {
		if a.opts.Config.Models[i].ID == m.ID {
			return b, true
		}
	}
	return nil, false
}
