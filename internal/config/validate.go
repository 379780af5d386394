package config

import (
	"fmt"

	"custos/internal/gguf"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// validate checks what decoding cannot: references between keys, files on
// disk, addresses and commands.
func validate(c *Config, p *problems) {
	if c.listenFrom == "" {
		c.listenFrom = "listen"
	}
	validateListen(c.listenFrom, c.Listen, p)
	if c.MetricsListen != "" {
		validateListen("metrics_listen", c.MetricsListen, p)
		if c.MetricsListen == c.Listen {
			p.add("metrics_listen", "%q is the main listen address; give another port, or leave it unset to serve /metrics there", c.MetricsListen)
		}
	}
	validateOrigins(c.CORS.AllowedOrigins, p)
	if len(c.Models) == 0 {
		p.add("models", "at least one model is required")
	}
	names := map[string]string{} // id or alias → key path that claimed it
	for i := range c.Models {
		validateModel(c, &c.Models[i], names, p)
	}
	if c.Fallback != nil {
		validateFallback(c, p)
	}
	validateStore(c, p)
	validateBudget(c, p)
	validateSecrets(c, p)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		p.add("log.format", "%q is not one of auto, text, json", c.Log.Format)
	}
}

// validateOrigins checks that each allowed origin is "*" or
// scheme://host[:port], which is all a browser's Origin header holds.
func validateOrigins(origins []string, p *problems) {
	for i, o := range origins {
		path := fmt.Sprintf("cors.allowed_origins[%d]", i)
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			p.add(path, "%q is not an origin (want \"*\" or scheme://host[:port], such as https://chat.example.com)", o)
		}
	}
}

func validateListen(path, addr string, p *problems) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(path, "%q is not a host:port address", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add(path, "%q has no valid port", addr)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		p.add(path, "%q: host must be an IP address or localhost", addr)
	}
}

func validateModel(c *Config, m *Model, names map[string]string, p *problems) {
	path := "models." + m.ID
	if !validID(m.ID) {
		p.add(path, "model id %q may only hold letters, digits and . _ - : / @ + (at most 128)", m.ID)
	}
	claim(m.ID, path, names, p)
	for i, a := range m.Aliases {
		ap := fmt.Sprintf("%s.aliases[%d]", path, i)
		if !validID(a) {
			p.add(ap, "alias %q may only hold letters, digits and . _ - : / @ + (at most 128)", a)
		}
		claim(a, ap, names, p)
	}
	if m.ModelPath != "" {
		m.ModelPath = resolve(c.Dir, m.ModelPath)
	}
	switch m.Backend {
	case BackendRunner:
		if len(m.Cmd) > 0 {
			p.add(path+".cmd", "only a llama-server backend takes cmd; the runner is custos itself")
		}
		if m.Info == nil { // FromModelFile has read it already
			m.Info = requireModel(path+".model", m.ModelPath, p)
		}
	case BackendLlamaServer:
		validateCmd(c, m, path, p)
	case BackendRemote:
		validateRemote(m, path, p)
	default:
		p.add(path+".backend", "%q is not a backend (want runner, llama-server or remote)", m.Backend)
	}
	validateBackendKeys(m, path, p)
	validateListenArgs(m, path, p)
	if m.Backend != BackendRemote {
		validateAdapters(m, path, p)
	}
	switch m.Load {
	case LoadStartup, LoadOnDemand:
	default:
		p.add(path+".load", "%q is not one of startup, on_demand", m.Load)
	}
	switch m.HealthCheck {
	case HealthCheckHealth, HealthCheckGenerate:
	case HealthCheckModels:
		if m.Backend != BackendRemote {
			p.add(path+".health_check", "models (GET /v1/models) is for a remote backend; a local one answers /health")
		}
	default:
		p.add(path+".health_check", "%q is not one of health, generate, models", m.HealthCheck)
	}
	if m.HealthTimeout > m.HealthInterval {
		p.add(path+".health_timeout", "%v is longer than health_interval (%v)", m.HealthTimeout, m.HealthInterval)
	}
	for k := range m.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			p.add(path+".env", "%q is not a valid environment variable name", k)
		}
	}
}

func validateCmd(c *Config, m *Model, path string, p *problems) {
	usesModel := false
	for _, arg := range m.Cmd {
		if strings.Contains(arg, "${MODEL}") {
			usesModel = true
		}
	}
	if usesModel {
		m.Info = requireModel(path+".model", m.ModelPath, p)
	}
	if !containsVar(m.Cmd, "${PORT}") {
		p.add(path+".cmd", "must pass ${PORT} to the backend: custos chooses the port")
	}
	if !containsVar(m.Cmd, "${HOST}") {
		p.add(path+".cmd", "must pass ${HOST} to the backend (--host ${HOST}): custos makes every backend listen on loopback only, reachable through the gateway")
	}
	validateListenCmd(m, path, p)
	prog := m.Cmd[0]
	if strings.Contains(prog, "/") {
		m.Cmd[0] = resolve(c.Dir, prog)
		info, err := os.Stat(m.Cmd[0])
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			p.add(path+".cmd[0]", "%s is not an executable file", m.Cmd[0])
		}
		return
	}
	if _, err := exec.LookPath(prog); err != nil {
		p.add(path+".cmd[0]", "%q is not found in PATH (install it, or give its full path)", prog)
	}
}

func containsVar(argv []string, v string) bool {
	for _, a := range argv {
		if strings.Contains(a, v) {
			return true
		}
	}
	return false
}

// listenFlags set where a backend listens: llama-server's --host and --port
// (it has no short forms), and the runner's, which as Go flags also take
// one dash. custos gives them itself, on loopback, and a later one in args
// would win.
var listenFlags = []string{"--host", "--port", "-host", "-port"}

// validateListenCmd refuses a cmd that gives the backend an address or a
// port other than custos's: each --host must be given ${HOST}, each
// --port ${PORT} (a later one would win over custos's).
func validateListenCmd(m *Model, path string, p *problems) {
	for i, a := range m.Cmd {
		name, value, inline := strings.Cut(a, "=")
		if !slices.Contains(listenFlags, name) {
			continue
		}
		if !inline && i+1 < len(m.Cmd) {
			value = m.Cmd[i+1]
		}
		want := "${PORT}"
		if strings.HasSuffix(name, "host") {
			want = "${HOST}"
		}
		if value != want {
			p.add(fmt.Sprintf("%s.cmd[%d]", path, i), "%s must be given %s: custos chooses where the backend listens, on loopback", name, want)
		}
	}
}

// validateListenArgs refuses args that choose the backend's address or
// port: a backend must be reachable only through the gateway.
func validateListenArgs(m *Model, path string, p *problems) {
	for i, a := range m.Args {
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains(listenFlags, name) {
			p.add(fmt.Sprintf("%s.args[%d]", path, i), "%q sets where the backend listens: custos chooses a loopback port for it, reachable only through the gateway", a)
		}
	}
}

func validateFallback(c *Config, p *problems) {
	f := c.Fallback
	u, err := url.Parse(f.URL)
	if f.URL == "" {
		p.add("fallback.url", "is required when fallback is set")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("fallback.url", "%q is not an http(s) URL", f.URL)
	}
	f.URL = strings.TrimRight(f.URL, "/")
	if f.APIKeyEnv != "" {
		f.APIKey = os.Getenv(f.APIKeyEnv)
		if f.APIKey == "" {
			p.add("fallback.api_key_env", "environment variable %s is not set", f.APIKeyEnv)
		}
	}
	for id := range f.Models {
		if m, ok := c.Model(id); !ok || m.ID != id {
			p.add("fallback.models."+id, "no model with id %q is configured", id)
		}
	}
}

func claim(name, path string, names map[string]string, p *problems) {
	if prev, taken := names[name]; taken {
		p.add(path, "%q is already used by %s", name, prev)
		return
	}
	names[name] = path
}

// requireModel checks that file is a readable GGUF model and returns its
// metadata; a truncated or hostile file is a configuration error here
// rather than a crash loop of its backend later.
func requireModel(path, file string, p *problems) *gguf.Info {
	if !requireFile(path, file, p) {
		return nil
	}
	f, err := gguf.ReadFile(file)
	if err != nil {
		p.add(path, "%s is not a usable GGUF model: %v", file, err)
		return nil
	}
	info := f.Info()
	return &info
}

func requireFile(path, file string, p *problems) bool {
	if file == "" {
		p.add(path, "is required")
		return false
	}
	info, err := os.Stat(file)
	switch {
	case err != nil:
		p.add(path, "%s does not exist or cannot be read", file)
		return false
	case info.IsDir():
		p.add(path, "%s is a folder, not a model file", file)
		return false
	}
	return true
}

func resolve(dir, path string) string {
	if filepath.IsAbs(path) || dir == "" {
		return path
	}
	return filepath.Join(dir, path)
}

func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:/@+", r)
		if !ok {
			return false
		}
	}
	return true
}

// CheckListen tries to bind the listen address, so `custos check` reports a
// port in use before `custos serve` would fail on it.
func CheckListen(c *Config) error {
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return &Error{Problems: []Problem{{Path: "listen", Message: fmt.Sprintf("cannot listen on %s: %v", c.Listen, unwrapOpError(err))}}}
	}
	return ln.Close()
}

func unwrapOpError(err error) error {
	if op, ok := err.(*net.OpError); ok && op.Err != nil {
		if sys, ok := op.Err.(*os.SyscallError); ok {
			return sys.Err
		}
		return op.Err
	}
	return err
}
