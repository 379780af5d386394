package readiness

import "fmt"

// EngineState derives the engine subsystem's state from how many of its n
// models are ready and unhealthy: all ready → Ready; some ready, or a
// fallback serving for an unhealthy model → Degraded; none ready and no
// fallback → Failed when every model is unhealthy, Warming otherwise. It
// takes counts, not a slice, because the gate evaluates it per request.
func EngineState(n, ready, unhealthy int, fallback bool) (State, string) {
	switch {
	case n == 0:
		return Failed, "no models configured"
	case ready == n:
		return Ready, fmt.Sprintf("%d of %d models ready", ready, n)
	case ready > 0:
		return Degraded, fmt.Sprintf("%d of %d models ready", ready, n)
	case fallback && unhealthy > 0:
		return Degraded, fmt.Sprintf("no model ready; fallback serving %d unhealthy", unhealthy)
	case unhealthy == n:
		return Failed, "every model is unhealthy and no fallback is configured"
	default:
		return Warming, fmt.Sprintf("0 of %d models ready", n)
	}
}
