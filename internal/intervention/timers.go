package intervention

import "time"

// pauseTimer is the max_pause timer of one paused scope, armed for the
// pause that began at since.
type pauseTimer struct {
	timer *time.Timer
	since time.Time
}

// deadline is when max_pause ends p: the deadline stored with it, or, for
// a pause stored without one, max_pause after it began.
func (c *Controller) deadline(p *Pause) time.Time {
	if !p.Until.IsZero() {
		return p.Until
	}
	return p.Since.Add(c.cfg.MaxPause)
}

// reconcileTimers makes the timers match the pauses of st: a timer for
// each pause, at its deadline, so a pause ends on time even when no
// request arrives to notice it — whichever replica made it. A pause that
// keeps its start keeps its timer; a timer without a pause is stopped.
// Callers hold the change lock.
func (c *Controller) reconcileTimers(st State) {
	paused := map[string]*Pause{}
	if st.Global != nil {
		paused[GlobalScope] = st.Global
	}
	for model, p := range st.Models {
		paused[model] = p
	}
	for scope, t := range c.timers {
		if p, ok := paused[scope]; !ok || !p.Since.Equal(t.since) {
			t.timer.Stop()
			delete(c.timers, scope)
		}
	}
	for scope, p := range paused {
		if _, ok := c.timers[scope]; ok {
			continue
		}
		since := p.Since
		c.timers[scope] = pauseTimer{since: since, timer: c.afterFunc(max(c.deadline(p).Sub(c.now()), 0), func() { c.expire(scope, since) })}
	}
}
