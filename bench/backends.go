package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// backend is a kind of model server the scenarios run behind custos.
type backend struct {
	name string
	// maxTokens is what each request asks for: the stand-in ignores it; on
	// the runner it sets the work per request.
	maxTokens int
	// model returns the configuration of model "tiny" on this backend,
	// with extra keys appended; flags go to the stand-in.
	model func(o *options, extra string, flags ...string) (string, error)
	// proxyExtra is the model configuration for the gateway measurements.
	proxyExtra string
	// sizes scales each scenario's request counts to the backend's speed.
	latencyRounds, latencyPerRound int
	streamRounds, streamsPerRound  int
	readinessStarts, crashes       int
}

var standinBackend = backend{
	name: "stand-in", maxTokens: 16,
	model: func(o *options, extra string, flags ...string) (string, error) {
		bin, err := filepath.Abs(o.standin)
		if err != nil {
			return "", err
		}
		argv := []string{quote(bin), `"--host"`, `"${HOST}"`, `"--port"`, `"${PORT}"`}
		for _, f := range flags {
			argv = append(argv, quote(f))
		}
		return "models:\n  tiny:\n    backend: llama-server\n    cmd: [" + strings.Join(argv, ", ") + "]\n" + extra, nil
	},
	// Enough slots and queue that custos's limiter never holds a request
	// the stand-in could take (64 clients).
	proxyExtra:    "    max_concurrency: 64\n    queue_max: 1024\n",
	latencyRounds: 6, latencyPerRound: 300,
	streamRounds: 4, streamsPerRound: 10,
	readinessStarts: 10, crashes: 5,
}

var runnerBackend = backend{
	name: "runner", maxTokens: 8,
	model: func(o *options, extra string, _ ...string) (string, error) {
		path, err := filepath.Abs(o.model)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%v (make run, or custos model gen, makes it)", err)
		}
		return "models:\n  tiny:\n    backend: runner\n    model: " + quote(path) + "\n" + extra, nil
	},
	// The runner's defaults: 4 slots (max_concurrency sets its --parallel),
	// custos queues the rest as the runner would.
	proxyExtra:    "    ready_timeout: 60s\n",
	latencyRounds: 6, latencyPerRound: 40,
	streamRounds: 4, streamsPerRound: 5,
	readinessStarts: 6, crashes: 4,
}

// quick shrinks a backend's sizes for a smoke run.
func (b backend) quick() backend {
	b.latencyRounds, b.latencyPerRound = 2, max(10, b.latencyPerRound/4)
	b.streamRounds, b.streamsPerRound = 2, max(2, b.streamsPerRound/2)
	b.readinessStarts, b.crashes = 3, 2
	return b
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
