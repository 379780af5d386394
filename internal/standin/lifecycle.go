package standin

import "time"

// phase is what the server is doing at a given moment.
type phase struct {
	loading  bool
	progress float64 // 0..1 while loading
}

// phaseAt is the pure load-state decision: loading with linear progress
// until loadTime has elapsed since start, ready afterwards.
func phaseAt(start time.Time, loadTime time.Duration, now time.Time) phase {
	elapsed := now.Sub(start)
	if loadTime <= 0 || elapsed >= loadTime {
		return phase{}
	}
	if elapsed < 0 {
		elapsed = 0
	}
	return phase{loading: true, progress: float64(elapsed) / float64(loadTime)}
}

// scheduleFaults starts the timers of the time-based faults, counted from
// the start of the load. They are stopped by Close.
func (s *Server) scheduleFaults() {
	o := s.opts
	if o.CrashDuringLoad && o.LoadTime > 0 {
		s.after(o.LoadTime/2, func() { s.opts.Exit(1) })
	}
	if o.CrashAfter > 0 {
		s.after(o.LoadTime+o.CrashAfter, func() { s.opts.Exit(1) })
	}
	if o.HangAfter > 0 {
		s.after(o.LoadTime+o.HangAfter, s.enterHang)
	}
	if o.RefuseAfter > 0 {
		s.after(o.LoadTime+o.RefuseAfter, s.enterRefuse)
	}
}

func (s *Server) after(d time.Duration, f func()) {
	s.timers = append(s.timers, time.AfterFunc(d, f))
}
