package api

import (
	"net/http"
	"time"

	"custos/internal/livestats"
)

// LiveFigures are the per-second figures the events stream reports
// (*livestats.Stats).
type LiveFigures interface {
	Point(t int64) livestats.Point
	History(until int64) livestats.History
}

// The timing of GET /admin/events.
const (
	// eventsRetryMillis is how long a browser waits before it reconnects.
	eventsRetryMillis = 2000
	// statusCoalesce is the least time between two status events: a burst
	// of changes (a request's every step) becomes one event.
	statusCoalesce = 250 * time.Millisecond
	// pingEvery keeps an idle stream's connection known to be alive.
	pingEvery = 15 * time.Second
	// statsLag is how long after a second ends its figures are sent, so a
	// request that ended on the boundary is counted in it.
	statsLag = 50 * time.Millisecond
)

// events is GET /admin/events: the status whenever it changes, the live
// figures every second after the history of the last ten minutes, and a
// ping every 15 s, in one stream. It ends when the client goes away or
// custos shuts down (EndStreams).
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	es, err := a.startEvents(w, eventsRetryMillis)
	if err != nil {
		return
	}
	changed := a.changed()
	if es.send("status", a.Status()) != nil {
		return
	}
	lastStatus := time.Now()
	connected := time.Now()
	lastSecond := connected.Unix() - 1
	if es.send("history", a.opts.Live.History(lastSecond)) != nil {
		return
	}
	stats := time.NewTimer(untilStats(connected))
	defer stats.Stop()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	var coalesce *time.Timer
	var coalesced <-chan time.Time // set while a status event waits its turn
	defer func() {
		if coalesce != nil {
			coalesce.Stop()
		}
	}()
	for {
		var err error
		select {
		case <-changed:
			changed = a.changed()
			if coalesced != nil {
				continue // the event that waits will carry this change too
			}
			if wait := statusCoalesce - time.Since(lastStatus); wait > 0 {
				coalesce = time.NewTimer(wait)
				coalesced = coalesce.C
				continue
			}
			err = es.send("status", a.Status())
			lastStatus = time.Now()
		case <-coalesced:
			coalesced = nil
			err = es.send("status", a.Status())
			lastStatus = time.Now()
		case now := <-stats.C:
			// Every second once, in order: a stream that fell behind (a
			// slow client, a busy machine) catches up rather than skip.
			from, to := secondsDue(lastSecond, now)
			for sec := from; sec <= to && err == nil; sec++ {
				err = es.send("stats", a.opts.Live.Point(sec))
			}
			lastSecond = max(lastSecond, to)
			stats.Reset(untilStats(time.Now()))
		case <-ping.C:
			err = es.comment("ping")
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

// secondsDue are the seconds whose figures are due at now, after
// lastSent: every second ended since, at most the Window still held.
func secondsDue(lastSent int64, now time.Time) (from, to int64) {
	to = now.Unix() - 1
	return max(lastSent+1, to-livestats.Window+1), to
}

// untilStats is the time from now to when the second now is in has ended
// (and statsLag more).
func untilStats(now time.Time) time.Duration {
	next := time.Unix(now.Unix()+1, 0).Add(statsLag)
	return next.Sub(now)
}

// changed returns a channel closed at the next change of what /status
// shows, or one never closed when no feed is wired.
func (a *API) changed() <-chan struct{} {
	if a.opts.Changes == nil {
		return nil
	}
	return a.opts.Changes()
}

// EndStreams ends every event stream (the events and the logs streams)
// and refuses new ones: custos is shutting down, and its HTTP server's
// graceful shutdown must not wait for streams that never end by
// themselves.
func (a *API) EndStreams() { a.endOnce.Do(func() { close(a.streamsEnd) }) }
