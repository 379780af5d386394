package intervention

import "time"

// Counters are seed 004's metrics plus what pauses hold now and what they
// refused.
type Counters struct {
	InterventionsTotal       uint64 `json:"interventions_total"`
	PausesTotal              uint64 `json:"pauses_total"`
	ResumesTotal             uint64 `json:"resumes_total"`
	RequestsBlocked          int64  `json:"requests_blocked"`
	RequestsWaited           int64  `json:"requests_waited"`
	RequestsTimedOut         int64  `json:"requests_timed_out"`
	RequestsWaiting          int64  `json:"requests_waiting"`
	RequestsRefused          int64  `json:"requests_refused"`
	HeldBytes                int64  `json:"held_bytes"`
	CurrentPauseDurationSecs uint64 `json:"current_pause_duration_secs"`
}

// Counters returns the counters now. The current pause duration is the
// age of the oldest pause in effect.
func (c *Controller) Counters() Counters {
	st := c.current.Load().state
	var oldest time.Time
	if st.Global != nil {
		oldest = st.Global.Since
	}
	for _, p := range st.Models {
		if oldest.IsZero() || p.Since.Before(oldest) {
			oldest = p.Since
		}
	}
	var current uint64
	if !oldest.IsZero() {
		current = uint64(c.now().Sub(oldest) / time.Second)
	}
	return Counters{
		InterventionsTotal:       c.interventions.Load(),
		PausesTotal:              c.pauses.Load(),
		ResumesTotal:             c.resumes.Load(),
		RequestsBlocked:          c.blocked.Load(),
		RequestsWaited:           c.waited.Load(),
		RequestsTimedOut:         c.timedOut.Load(),
		RequestsWaiting:          c.held.Load(),
		RequestsRefused:          c.refused.Load(),
		HeldBytes:                c.heldBytes.Load(),
		CurrentPauseDurationSecs: current,
	}
}
