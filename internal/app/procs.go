package app

import (
	"log/slog"
	"os"
	"runtime"
)

// GatewayProcs is how many Go processors `custos serve` uses when the
// operator has not set GOMAXPROCS: a quarter of those available, between
// 1 and 4. custos only moves bytes between sockets and shares the machine
// with inference engines that want every core. With a processor per core,
// Go parks idle threads in a spin that takes cycles from those engines,
// and hands each request between threads, each hand-off a thread wake-up:
// on 2 cores that doubled what custos added to a request's latency
// without raising its throughput (docs/BENCHMARKS.md). One processor
// proxies far more requests per second than any model answers.
func GatewayProcs(available int) int {
	return min(max(available/4, 1), 4)
}

// LimitProcs applies GatewayProcs unless GOMAXPROCS is set in the
// environment. Backends started later keep their own default: the limit
// is set in this process, not passed down in the environment.
func LimitProcs(log *slog.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	available := runtime.GOMAXPROCS(0)
	n := GatewayProcs(available)
	runtime.GOMAXPROCS(n)
	log.Debug("gateway processors", "gomaxprocs", n, "available", available)
}
