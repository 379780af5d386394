package readiness

import "fmt"

// Models counts an engine's models by condition. Recovering models have
// been ready before and are restarting: requests wait for them. Unloaded
// models are loaded when a request names them: they can serve, as ready
// ones can, only later.
type Models struct {
	Total, Ready, Unloaded, Unhealthy, Recovering int
}

// EngineState derives the engine subsystem's state from its models: all
// ready → Ready; some ready, some recovering from a restart, or a fallback
// configured → Degraded; none ready and no fallback → Failed when every
// model is unhealthy, Warming while they start up. It
// takes counts, not a slice, because the gate evaluates it per request.
//
// A restart is not a start-up: treating a crashed backend as Warming would
// close the gate during the readiness deadline and turn requests that
// could wait for the restart into 503s.
func EngineState(m Models, fallback bool) (State, string) {
	n, ready, unhealthy := m.Total, m.Ready+m.Unloaded, m.Unhealthy
	detail := fmt.Sprintf("%d of %d models ready", m.Ready, n)
	if m.Unloaded > 0 {
		detail += fmt.Sprintf(", %d unloaded (loaded on demand)", m.Unloaded)
	}
	switch {
	case n == 0:
		return Failed, "no models configured"
	case ready == n:
		return Ready, detail
	case ready > 0:
		return Degraded, detail
	case m.Recovering > 0:
		return Degraded, fmt.Sprintf("no model ready; %d restarting", m.Recovering)
	case fallback:
		// Requests wait for a starting model until the readiness deadline
		// and then go to the fallback, as unhealthy models' requests do at
		// once: with a fallback, every request can be served.
		return Degraded, fmt.Sprintf("no model ready (%d unhealthy); the fallback serves", unhealthy)
	case unhealthy == n:
		return Failed, "every model is unhealthy and no fallback is configured"
	default:
		return Warming, fmt.Sprintf("0 of %d models ready", n)
	}
}
