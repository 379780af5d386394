package config

import (
	"os"
	"path/filepath"
	"time"
)

// Defaults, in one place. The seeds' defaults are kept: a 30 s readiness
// deadline (seed 002) and a restart budget of 3 (seed 000).
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultMaxBodyBytes      = 8 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultReadinessDeadline = 30 * time.Second
	DefaultFallbackTimeout   = 300 * time.Second

	DefaultReadyTimeout         = 120 * time.Second
	DefaultHealthInterval       = 2 * time.Second
	DefaultHealthTimeout        = time.Second
	DefaultUnhealthyAfter       = 3
	DefaultRestartMax           = 3
	DefaultRestartBackoff       = time.Second
	DefaultUnhealthyCooldown    = 60 * time.Second
	DefaultStableAfter          = 30 * time.Second
	DefaultStopTimeout          = 10 * time.Second
	DefaultMaxConcurrency       = 4
	DefaultQueueMax             = 64
	DefaultQueueTimeout         = 60 * time.Second
	DefaultLogLines             = 200
	DefaultUnhealthyAfterErrors = 10

	DefaultMaxPause     = 300 * time.Second
	DefaultWaitTimeout  = 60 * time.Second
	DefaultMaxHeld      = 1000
	DefaultMaxHeldBytes = 256 << 20
)

// DefaultLlamaServerCmd is the argv used for a llama-server backend
// without `cmd`.
var DefaultLlamaServerCmd = []string{"llama-server", "-m", "${MODEL}", "--host", "${HOST}", "--port", "${PORT}"}

func applyDefaults(c *Config) {
	setDefault(&c.Listen, DefaultListen)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.ReadTimeout, DefaultReadTimeout)
	setDefault(&c.Readiness.Deadline, DefaultReadinessDeadline)
	setDefault(&c.Log.Level, "info")
	setDefault(&c.Log.Format, "auto")
	setDefault(&c.Intervention.MaxPause, DefaultMaxPause)
	setDefault(&c.Intervention.WaitTimeout, DefaultWaitTimeout)
	setDefault(&c.Intervention.MaxHeld, DefaultMaxHeld)
	setDefault(&c.Intervention.MaxHeldBytes, DefaultMaxHeldBytes)
	setDefault(&c.Store.Driver, StoreSQLite)
	switch c.Store.Driver {
	case StoreSQLite:
		setDefault(&c.Store.Path, defaultStorePath())
	case StorePostgres:
		setDefault(&c.Store.Replica, defaultReplica())
	}
	if c.Resources.Memory == 0 {
		c.Resources.MemoryAuto = true
	}
	if c.Fallback != nil {
		setDefault(&c.Fallback.Timeout, DefaultFallbackTimeout)
	}
	for i := range c.Models {
		m := &c.Models[i]
		setDefault(&m.Backend, BackendRunner)
		if m.Backend == BackendLlamaServer && len(m.Cmd) == 0 {
			m.Cmd = append([]string(nil), DefaultLlamaServerCmd...)
		}
		setDefault(&m.ReadyTimeout, DefaultReadyTimeout)
		setDefault(&m.HealthInterval, DefaultHealthInterval)
		setDefault(&m.HealthTimeout, DefaultHealthTimeout)
		setDefault(&m.UnhealthyAfter, DefaultUnhealthyAfter)
		setDefault(&m.RestartMax, DefaultRestartMax)
		setDefault(&m.RestartBackoff, DefaultRestartBackoff)
		setDefault(&m.UnhealthyCooldown, DefaultUnhealthyCooldown)
		setDefault(&m.StableAfter, DefaultStableAfter)
		setDefault(&m.StopTimeout, DefaultStopTimeout)
		setDefault(&m.MaxConcurrency, DefaultMaxConcurrency)
		if m.QueueMax < 0 {
			m.QueueMax = DefaultQueueMax
		}
		setDefault(&m.QueueTimeout, DefaultQueueTimeout)
		setDefault(&m.LogLines, DefaultLogLines)
		setDefault(&m.Load, LoadStartup)
		setDefault(&m.HealthCheck, HealthCheckHealth)
		if m.UnhealthyAfterErrors < 0 {
			m.UnhealthyAfterErrors = DefaultUnhealthyAfterErrors
		}
		applyRemoteDefaults(m)
	}
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// defaultReplica is the host name: on Kubernetes, the pod's name.
func defaultReplica() string {
	if name, err := os.Hostname(); err == nil && name != "" {
		return name
	}
	return "custos"
}

// defaultStorePath follows the XDG base directory convention for state
// that should survive restarts.
func defaultStorePath() string {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "custos", "custos.db")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "custos", "custos.db")
	}
	return filepath.Join("data", "custos.db")
}
