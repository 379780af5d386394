package runner

import "custos/internal/sysmon"

// lowerMonitor gives the Go runtime's monitor thread the lowest priority, so that its wakeups stop
// preempting the decoding threads when they fill every CPU (package sysmon; Config.LowerRuntimeMonitor). Where that cannot be done,
// the runner only decodes a little slower, so it is logged and nothing else.
func (s *Server) lowerMonitor() {
	tid, err := sysmon.Lower()
	if err != nil {
		s.log.Info("the Go runtime's monitor thread keeps its priority", "err", err)
		return
	}
	s.log.Debug("lowered the Go runtime's monitor thread", "tid", tid, "nice", sysmon.Nice)
}
