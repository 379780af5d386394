package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"custos/internal/gguf"
)

// Overrides are values given on the command line in place of the file's.
// They are validated with the rest: a flag is no way around a rule.
type Overrides struct {
	// Listen replaces `listen` (serve --listen).
	Listen string
}

// Load reads, decodes, fills in defaults and validates the configuration
// file at path. Every mistake is returned at once in an *Error.
func Load(path string) (*Config, error) { return LoadWith(path, Overrides{}) }

// LoadWith is Load with command-line overrides applied before validation.
func LoadWith(path string, o Overrides) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Problems: []Problem{{Message: err.Error()}}}
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, &Error{File: path, Problems: []Problem{{Message: err.Error()}}}
	}
	cfg, err := parseWith(data, dir, o)
	if e, ok := err.(*Error); ok {
		e.File = path
	}
	return cfg, err
}

// Parse decodes and validates a configuration; relative paths in it are
// resolved against dir.
func Parse(data []byte, dir string) (*Config, error) { return parseWith(data, dir, Overrides{}) }

func parseWith(data []byte, dir string, o Overrides) (*Config, error) {
	var tree any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.UnmarshalWithOptions(data, &tree, yaml.UseOrderedMap()); err != nil {
			return nil, &Error{Problems: []Problem{{Message: "not valid YAML: " + yaml.FormatError(err, false, true)}}}
		}
	}
	p := &problems{}
	cfg := decodeConfig(&decoder{p: p}, tree)
	cfg.Dir = dir
	if o.Listen != "" {
		cfg.Listen, cfg.listenFrom = o.Listen, "--listen"
	}
	if len(p.list) == 0 {
		applyDefaults(cfg)
		validate(cfg, p)
	}
	if err := p.err(""); err != nil {
		return nil, err
	}
	return cfg, nil
}

var topKeys = []string{"listen", "models", "fallback", "readiness", "shutdown_timeout", "max_body_bytes", "read_header_timeout",
	"read_timeout", "metrics_listen", "cors", "log", "intervention", "store", "admin", "auth", "resources"}

func decodeConfig(d *decoder, tree any) *Config {
	cfg := &Config{Intervention: Intervention{Enabled: true}}
	d.fields("", tree, topKeys, func(key string, v any, path string) {
		switch key {
		case "listen":
			cfg.Listen = d.str(path, v)
		case "models":
			cfg.Models = decodeModels(d, path, v)
		case "fallback":
			cfg.Fallback = decodeFallback(d, path, v)
		case "readiness":
			d.fields(path, v, []string{"deadline"}, func(_ string, v any, path string) {
				cfg.Readiness.Deadline = d.duration(path, v)
			})
		case "shutdown_timeout":
			cfg.ShutdownTimeout = d.duration(path, v)
		case "max_body_bytes":
			cfg.MaxBodyBytes = d.size(path, v)
		case "read_header_timeout":
			cfg.ReadHeaderTimeout = d.duration(path, v)
		case "read_timeout":
			cfg.ReadTimeout = d.duration(path, v)
		case "metrics_listen":
			cfg.MetricsListen = d.str(path, v)
		case "cors":
			d.fields(path, v, []string{"allowed_origins"}, func(_ string, v any, path string) {
				cfg.CORS.AllowedOrigins = d.strings(path, v)
			})
		case "log":
			d.fields(path, v, []string{"level", "format"}, func(key string, v any, path string) {
				if key == "level" {
					cfg.Log.Level = d.str(path, v)
				} else {
					cfg.Log.Format = d.str(path, v)
				}
			})
		case "intervention":
			decodeIntervention(d, path, v, &cfg.Intervention)
		case "resources":
			d.fields(path, v, []string{"memory", "gpu_memory"}, func(key string, v any, path string) {
				if key == "gpu_memory" {
					cfg.Resources.GPUMemory = d.sizeOrZero(path, v)
				} else if v == "auto" {
					cfg.Resources.MemoryAuto = true
				} else {
					cfg.Resources.Memory = d.size(path, v)
				}
			})
		case "store":
			d.fields(path, v, []string{"driver", "path", "dsn_env", "replica"}, func(key string, v any, path string) {
				switch key {
				case "driver":
					cfg.Store.Driver = d.str(path, v)
				case "path":
					cfg.Store.Path = d.str(path, v)
				case "dsn_env":
					cfg.Store.DSNEnv = d.str(path, v)
				default:
					cfg.Store.Replica = d.str(path, v)
				}
			})
		case "admin":
			d.fields(path, v, []string{"token_env", "token_file"}, func(key string, v any, path string) {
				if key == "token_env" {
					cfg.Admin.TokenEnv = d.str(path, v)
				} else {
					cfg.Admin.TokenFile = d.str(path, v)
				}
			})
		case "auth":
			d.fields(path, v, []string{"api_keys_env", "api_keys_file"}, func(key string, v any, path string) {
				if key == "api_keys_env" {
					cfg.Auth.APIKeysEnv = d.str(path, v)
				} else {
					cfg.Auth.APIKeysFile = d.str(path, v)
				}
			})
		}
	})
	return cfg
}

var modelKeys = []string{
	"backend", "model", "cmd", "args", "env", "aliases",
	"ready_timeout", "health_interval", "health_timeout", "unhealthy_after",
	"restart_max", "restart_backoff", "unhealthy_cooldown", "stable_after", "stop_timeout",
	"max_concurrency", "queue_max", "queue_timeout", "log_lines",
	"load", "ttl", "pinned", "memory", "gpu_memory", "health_check", "unhealthy_after_errors",
	"url", "urls", "discover", "discover_interval", "balance", "eject_cooldown", "api_key_env", "upstream_model",
}

func decodeModels(d *decoder, path string, v any) []Model {
	m, ok := d.mapping(path, v)
	if !ok {
		return nil
	}
	models := make([]Model, 0, len(m))
	for _, item := range m {
		id, isString := item.Key.(string)
		if !isString {
			d.p.add(path, "model id %v is not a string", item.Key)
			continue
		}
		models = append(models, decodeModel(d, join(path, id), id, item.Value))
	}
	return models
}

func decodeModel(d *decoder, path, id string, v any) Model {
	// -1 marks "not given" where 0 is a meaningful value (no queue, never).
	m := Model{ID: id, QueueMax: -1, UnhealthyAfterErrors: -1}
	d.fields(path, v, modelKeys, func(key string, v any, path string) {
		m.given = append(m.given, key)
		if slices.Contains(remoteKeys, key) {
			decodeRemote(d, &m, key, v, path)
			return
		}
		switch key {
		case "backend":
			m.Backend = d.str(path, v)
		case "model":
			m.ModelPath = d.str(path, v)
		case "cmd":
			m.Cmd = d.strings(path, v)
		case "args":
			m.Args = d.strings(path, v)
		case "env":
			m.Env = d.stringMap(path, v)
		case "aliases":
			m.Aliases = d.strings(path, v)
		case "ready_timeout":
			m.ReadyTimeout = d.duration(path, v)
		case "health_interval":
			m.HealthInterval = d.duration(path, v)
		case "health_timeout":
			m.HealthTimeout = d.duration(path, v)
		case "unhealthy_after":
			m.UnhealthyAfter = d.integer(path, v, 1)
		case "restart_max":
			m.RestartMax = d.integer(path, v, 1)
		case "restart_backoff":
			m.RestartBackoff = d.duration(path, v)
		case "unhealthy_cooldown":
			m.UnhealthyCooldown = d.duration(path, v)
		case "stable_after":
			m.StableAfter = d.duration(path, v)
		case "stop_timeout":
			m.StopTimeout = d.duration(path, v)
		case "max_concurrency":
			m.MaxConcurrency = d.integer(path, v, 1)
		case "queue_max":
			m.QueueMax = d.integer(path, v, 0)
		case "queue_timeout":
			m.QueueTimeout = d.duration(path, v)
		case "log_lines":
			m.LogLines = d.integer(path, v, 1)
		case "load":
			m.Load = d.str(path, v)
		case "health_check":
			m.HealthCheck = d.str(path, v)
		case "unhealthy_after_errors":
			m.UnhealthyAfterErrors = d.integer(path, v, 0)
		case "ttl":
			m.TTL = d.durationOrZero(path, v)
		case "pinned":
			m.Pinned = d.boolean(path, v)
		case "memory":
			m.Memory = d.sizeOrZero(path, v)
		case "gpu_memory":
			m.GPUMemory = d.sizeOrZero(path, v)
		}
	})
	return m
}

func decodeIntervention(d *decoder, path string, v any, in *Intervention) {
	keys := []string{"enabled", "pause_on_distressed", "pause_on_concerned", "max_pause", "wait_timeout", "max_held", "max_held_bytes"}
	d.fields(path, v, keys, func(key string, v any, path string) {
		switch key {
		case "enabled":
			in.Enabled = d.boolean(path, v)
		case "pause_on_distressed":
			in.PauseOnDistressed = d.boolean(path, v)
		case "pause_on_concerned":
			in.PauseOnConcerned = d.boolean(path, v)
		case "max_pause":
			in.MaxPause = d.duration(path, v)
		case "wait_timeout":
			in.WaitTimeout = d.duration(path, v)
		case "max_held":
			in.MaxHeld = d.integer(path, v, 1)
		case "max_held_bytes":
			in.MaxHeldBytes = d.size(path, v)
		}
	})
}

func decodeFallback(d *decoder, path string, v any) *Fallback {
	if v == nil {
		return nil
	}
	f := &Fallback{}
	d.fields(path, v, []string{"url", "api_key_env", "models", "timeout"}, func(key string, v any, path string) {
		switch key {
		case "url":
			f.URL = d.str(path, v)
		case "api_key_env":
			f.APIKeyEnv = d.str(path, v)
		case "models":
			f.Models = d.stringMap(path, v)
		case "timeout":
			f.Timeout = d.duration(path, v)
		}
	})
	return f
}

// FromModelFile is the configuration of `custos serve --model FILE.gguf`:
// one model on the embedded engine with every default, its id taken from
// the file name and "default" as an alias.
func FromModelFile(path, listen string) (*Config, error) {
	abs, err := filepath.Abs(path)
	var info *gguf.Info
	if err == nil {
		p := &problems{}
		info = requireModel("--model", abs, p)
		err = p.err("")
	}
	if err != nil {
		return nil, err
	}
	id := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
	if !validID(id) {
		id = "default"
	}
	cfg := &Config{
		Listen:       listen,
		listenFrom:   "--listen",
		Intervention: Intervention{Enabled: true},
		Models:       []Model{{ID: id, Backend: BackendRunner, ModelPath: abs, QueueMax: -1, UnhealthyAfterErrors: -1, Info: info}},
		Dir:          filepath.Dir(abs),
	}
	if id != "default" {
		cfg.Models[0].Aliases = []string{"default"}
	}
	applyDefaults(cfg)
	p := &problems{}
	validate(cfg, p)
	if err := p.err(""); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Describe renders a configuration error for a terminal.
func Describe(err error) string {
	return fmt.Sprintf("configuration error: %v", err)
}
