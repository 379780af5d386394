// Package config defines custos's configuration: the YAML file given to
// `custos serve --config`, its defaults, and its validation. Every field
// documents what it does and its default; defaults are filled in one place
// (applyDefaults) so the rest of custos never checks for zero values.
package config

import (
	"slices"
	"time"

	"custos/internal/gguf"
)

// How a ready backend is probed.
const (
	HealthCheckHealth   = "health"
	HealthCheckGenerate = "generate"
	// HealthCheckModels is GET /v1/models, for a remote OpenAI-compatible
	// upstream that has no /health.
	HealthCheckModels = "models"
)

// When a model's backend is started.
const (
	// LoadStartup starts the backend with custos and keeps it loaded
	// unless ttl, eviction or an operator unloads it.
	LoadStartup = "startup"
	// LoadOnDemand starts the backend when a request names the model.
	LoadOnDemand = "on_demand"
)

// Backend kinds a model can run on.
const (
	// BackendRunner is custos's embedded engine, `custos runner`.
	BackendRunner = "runner"
	// BackendLlamaServer is any llama-server-compatible command.
	BackendLlamaServer = "llama-server"
	// BackendRemote is a server on another host that custos does not
	// start: one or several replicas of the model (see Remote).
	BackendRemote = "remote"
)

// Config is the whole configuration of `custos serve`.
type Config struct {
	// Listen is the address the gateway listens on (default 127.0.0.1:8080).
	Listen string
	// Models are the served models, in the order the file lists them. The
	// first one is the default model reported by /health.
	Models []Model
	// Fallback is the upstream used when a model cannot serve; nil when unset.
	Fallback *Fallback
	// Readiness configures the readiness gate.
	Readiness Readiness
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGTERM before backends are stopped anyway (default 30s).
	ShutdownTimeout time.Duration
	// MaxBodyBytes is the largest request body accepted; larger ones get
	// 413 (default 8 MiB).
	MaxBodyBytes int64
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers, so slow-header clients cannot hold connections
	// open (default 10s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds how long a client may take to send a request
	// body once its headers are in, so a client that declares a large body
	// and trickles it cannot hold a connection, a goroutine and its bytes
	// for ever (default 60s).
	ReadTimeout time.Duration
	// MetricsListen, when set, serves /metrics on this address without
	// authentication, for a Prometheus scraper on a private port; /metrics
	// then leaves the main listener. Unset, /metrics is on the main
	// listener behind the admin guard.
	MetricsListen string
	// CORS is custos's cross-origin policy for browser clients.
	CORS CORS
	// Log configures custos's own log output.
	Log Log
	// Intervention configures pausing inference (seed 004).
	Intervention Intervention
	// Store configures the durable control-state store.
	Store Store
	// Admin configures access to the /admin routes.
	Admin Admin
	// Auth configures API keys for the inference routes.
	Auth Auth
	// Resources is the machine's budget that loaded models must fit in.
	Resources Resources
	// Dir is the folder of the configuration file; relative paths in the
	// file are resolved against it. Not a YAML key.
	Dir string
	// listenFrom names where Listen came from in messages: "listen", or
	// "--listen" when the command line gave it.
	listenFrom string
}

// Model is one served model and the backend process that serves it.
type Model struct {
	// ID is the model id clients send in the request body (the YAML key).
	ID string
	// Backend is BackendRunner (default) or BackendLlamaServer.
	Backend string
	// ModelPath is the GGUF file (YAML key `model`); resolved against Dir.
	ModelPath string
	// Cmd is the argv of a llama-server backend, never run through a shell.
	// ${MODEL}, ${HOST} and ${PORT} are substituted (default
	// ["llama-server", "-m", "${MODEL}", "--host", "${HOST}", "--port", "${PORT}"]).
	Cmd []string
	// Args are extra flags appended to the backend's command line.
	Args []string
	// Env is added to the backend's environment.
	Env map[string]string
	// Aliases are other ids that route to this model.
	Aliases []string
	// ReadyTimeout is the load deadline; it restarts whenever the backend
	// reports load progress (default 120s).
	ReadyTimeout time.Duration
	// HealthInterval is the period of health probes after ready (default 2s).
	HealthInterval time.Duration
	// HealthTimeout bounds each probe, so a backend that accepts TCP but
	// never answers cannot wedge anything (default 1s).
	HealthTimeout time.Duration
	// UnhealthyAfter is how many consecutive failed probes get a ready
	// backend killed and restarted (default 3).
	UnhealthyAfter int
	// RestartMax is how many consecutive failed starts or crashes make the
	// model `unhealthy` (default 3).
	RestartMax int
	// RestartBackoff is the first delay before a restart; it doubles up to
	// 30s (default 1s).
	RestartBackoff time.Duration
	// UnhealthyCooldown is how long an `unhealthy` model waits before it is
	// tried again on its own (default 60s).
	UnhealthyCooldown time.Duration
	// StableAfter is how long a backend must stay ready for its consecutive
	// failure count to reset (default 30s).
	StableAfter time.Duration
	// StopTimeout is the grace period between SIGTERM and SIGKILL when the
	// backend is stopped (default 10s).
	StopTimeout time.Duration
	// MaxConcurrency is how many requests may be in flight to the backend
	// (default 4).
	MaxConcurrency int
	// QueueMax is how many requests may wait beyond MaxConcurrency; more get
	// 429 with Retry-After (default 64).
	QueueMax int
	// QueueTimeout is how long a request may wait before it is sent to the
	// backend; longer gets 503 with Retry-After (default 60s).
	QueueTimeout time.Duration
	// LogLines is how many lines of the backend's output are kept in memory
	// for /status and diagnostics (default 200).
	LogLines int
	// HealthCheck is how a ready backend is probed: HealthCheckHealth
	// (default: GET /health) or HealthCheckGenerate (a one-token
	// generation, or an embedding for an embeddings model, which costs a
	// token per health_interval and catches a backend that answers /health
	// and fails every inference).
	HealthCheck string
	// UnhealthyAfterErrors is how many consecutive 5xx answers to real
	// requests get a ready backend checked at once with a generation; if
	// that fails too it is restarted, under the usual budget (default 10;
	// 0: never).
	UnhealthyAfterErrors int
	// Load is LoadStartup (default: the backend starts with custos, as a
	// readiness probe expects of a model that is configured) or
	// LoadOnDemand (it starts when a request names the model).
	Load string
	// TTL unloads the backend after it has been idle this long; 0 (default)
	// never does.
	TTL time.Duration
	// Pinned keeps the backend loaded: never evicted for another model
	// nor unloaded for idleness (default false).
	Pinned bool
	// Memory overrides the estimate of the backend's memory from its GGUF
	// file (0: estimate); a measurement that is more replaces it.
	Memory int64
	// GPUMemory overrides the estimate of what the backend takes on GPUs,
	// which follows the layers it offloads (-ngl in args; 0: estimate).
	GPUMemory int64
	// Info is the GGUF metadata of ModelPath, read at load time when the
	// backend uses the file. Not a YAML key.
	Info *gguf.Info
	// adapterBytes is the size of the LoRA adapters its command line loads (--lora, --lora-scaled).
	adapterBytes int64
	// Remote is where a remote backend's replicas are and how requests
	// are spread among them; nil unless Backend is BackendRemote.
	Remote *Remote
	// given are the YAML keys the model set, so that keys a backend kind
	// has no use for are refused by name rather than ignored.
	given []string
}

// Resources is what the models loaded at once may use.
type Resources struct {
	// Memory is the budget of the backends' resident memory in bytes:
	// "auto" (default) is the machine's memory less a headroom for the
	// system and custos; a size such as 20GiB sets it.
	Memory int64
	// MemoryAuto is true when Memory is to be derived from the machine.
	// Not a YAML value of its own: "auto".
	MemoryAuto bool
	// GPUMemory is the budget of memory on GPUs, for backends that
	// offload layers (0, default: no GPU budget).
	GPUMemory int64
}

// Fallback is an OpenAI-compatible upstream that takes a model's traffic
// while the model cannot serve.
type Fallback struct {
	// URL is the upstream's base URL including its /v1 prefix.
	URL string
	// APIKeyEnv names the environment variable holding the upstream's API
	// key; it is sent as a bearer token. Empty sends none.
	APIKeyEnv string
	// APIKey is the key read from APIKeyEnv at load time. Not a YAML key.
	APIKey string
	// Models maps a local model id to the upstream's model name; an
	// unmapped model keeps its own id.
	Models map[string]string
	// Timeout bounds a whole fallback request (default 300s).
	Timeout time.Duration
}

// Readiness configures the readiness gate.
type Readiness struct {
	// Deadline is how long after start a still-warming subsystem is
	// promoted to Degraded, and how long a model may load before its
	// requests go to the fallback (default 30s).
	Deadline time.Duration
}

// CORS configures which web pages, by origin, may call custos from a
// browser. A request that carries an Origin header that is neither listed
// nor custos's own is refused with 403; a listed one gets the
// Access-Control-Allow-* headers. Admin routes never answer another
// origin, whatever this says.
type CORS struct {
	// AllowedOrigins are origins such as "https://chat.example.com", or "*"
	// for any (default: none).
	AllowedOrigins []string
}

// Intervention configures the intervention controller (seed 004).
type Intervention struct {
	// Enabled turns gating on (default true). Disabled: no request ever waits.
	Enabled bool
	// PauseOnDistressed pauses inference when wellbeing turns distressed
	// (default false: observe only).
	PauseOnDistressed bool
	// PauseOnConcerned pauses inference when wellbeing turns concerned
	// (default false).
	PauseOnConcerned bool
	// MaxPause ends any pause after this long, by a timer (default 300s).
	MaxPause time.Duration
	// WaitTimeout is how long a request waits on a pause before it gets
	// 503 inference_paused (default 60s).
	WaitTimeout time.Duration
	// MaxHeld bounds how many requests pauses hold at once; one more
	// arriving gets 429 with Retry-After (default 1000).
	MaxHeld int
	// MaxHeldBytes bounds the bodies of the requests pauses hold (default
	// 256 MiB); past it, a new request gets 429 too.
	MaxHeldBytes int64
}

// Store drivers.
const (
	// StoreSQLite keeps control state in a file of this machine.
	StoreSQLite = "sqlite"
	// StorePostgres keeps it in a PostgreSQL database the replicas of a
	// fleet share.
	StorePostgres = "postgres"
)

// Store configures the control-state store.
type Store struct {
	// Driver is sqlite (default) or postgres.
	Driver string
	// Path is the SQLite file (default $XDG_STATE_HOME/custos/custos.db,
	// or ~/.local/state/custos/custos.db). sqlite only.
	Path string
	// DSNEnv names the environment variable holding the PostgreSQL
	// connection string, so the password stays out of the file. Required
	// with postgres, refused with sqlite.
	DSNEnv string
	// DSN is the connection string read from DSNEnv at load time. Not a
	// YAML key.
	DSN string
	// Replica names this custos in the audit log a fleet shares (default:
	// the host name, which is the pod's name on Kubernetes). postgres only.
	Replica string
}

// Admin configures the admin routes' bearer token. Without a token the
// admin routes answer loopback clients only, and custos refuses to listen
// on a non-loopback address.
type Admin struct {
	// TokenEnv names an environment variable holding the token.
	TokenEnv string
	// TokenFile is a file holding the token (surrounding space ignored).
	TokenFile string
	// Token is the token read at load time. Not a YAML key.
	Token string
}

// Auth configures API keys for the inference routes.
type Auth struct {
	// APIKeysEnv names an environment variable holding keys separated by
	// commas or white space.
	APIKeysEnv string
	// APIKeysFile is a file holding one key per line (# starts a comment).
	APIKeysFile string
	// APIKeys are the keys read at load time. Not a YAML key.
	APIKeys []string
}

// Log configures custos's log output.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string
	// Format is auto (default: text on a terminal, JSON otherwise), text or json.
	Format string
}

// DefaultModelName is the id or alias that names the default model: the
// one /health reports on. Without it, the first model is the default.
const DefaultModelName = "default"

// DefaultModel is the index in Models of the default model.
func (c *Config) DefaultModel() int {
	for i := range c.Models {
		if c.Models[i].ID == DefaultModelName || slices.Contains(c.Models[i].Aliases, DefaultModelName) {
			return i
		}
	}
	return 0
}

// Model returns the model with the given id or alias.
func (c *Config) Model(name string) (*Model, bool) {
	for i := range c.Models {
		m := &c.Models[i]
		if m.ID == name {
			return m, true
		}
		for _, a := range m.Aliases {
			if a == name {
				return m, true
			}
		}
	}
	return nil, false
}
