package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// How a remote model's requests are spread over its replicas.
const (
	// BalanceLeastRequests sends each request to the ready replica with
	// the fewest requests in flight.
	BalanceLeastRequests = "least_requests"
	// BalancePrefixAffinity keeps requests that share a prompt prefix
	// (a conversation) on one replica, whose KV cache holds that prefix.
	BalancePrefixAffinity = "prefix_affinity"
)

// Remote is a model served by replicas on other hosts, which custos
// probes, balances and ejects but never starts or stops.
type Remote struct {
	// URLs are the replicas' base URLs (YAML `url:` for one, `urls:` for
	// several): the server's root, to which the request's path (/v1/...)
	// is appended.
	URLs []string
	// Discover is a URL whose host name is resolved every
	// DiscoverInterval; each address it resolves to is a replica at the
	// URL's port (a Kubernetes headless Service). Exclusive with URLs.
	Discover string
	// DiscoverInterval is how often Discover is resolved again (default 10s).
	DiscoverInterval time.Duration
	// Balance is BalanceLeastRequests (default) or BalancePrefixAffinity.
	Balance string
	// EjectCooldown is how long a failing replica gets no requests before
	// its probes may re-admit it (default 30s).
	EjectCooldown time.Duration
	// APIKeyEnv names the environment variable holding the upstream's key,
	// sent as a bearer token on requests and probes; empty sends none.
	APIKeyEnv string
	// APIKey is the key read from APIKeyEnv. Not a YAML key.
	APIKey string
	// UpstreamModel is the name the replicas know the model by, written
	// into each request's "model" (default: the model's id; a client may
	// have used an alias the replicas do not know).
	UpstreamModel string
}

// Defaults of a remote backend.
const (
	DefaultDiscoverInterval = 10 * time.Second
	DefaultEjectCooldown    = 30 * time.Second
)

// remoteKeys are the model keys of a remote backend only.
var remoteKeys = []string{"url", "urls", "discover", "discover_interval", "balance", "eject_cooldown", "api_key_env", "upstream_model"}

// processKeys make sense only for a process custos runs: a remote
// backend refuses them by name.
var processKeys = []string{"model", "cmd", "args", "env", "restart_max", "restart_backoff", "unhealthy_cooldown",
	"stable_after", "stop_timeout", "log_lines", "load", "ttl", "pinned", "memory", "gpu_memory"}

// decodeRemote reads a remote key into m.Remote.
func decodeRemote(d *decoder, m *Model, key string, v any, path string) {
	if m.Remote == nil {
		m.Remote = &Remote{}
	}
	r := m.Remote
	switch key {
	case "url":
		r.URLs = append(r.URLs, d.str(path, v))
	case "urls":
		r.URLs = append(r.URLs, d.strings(path, v)...)
	case "discover":
		r.Discover = d.str(path, v)
	case "discover_interval":
		r.DiscoverInterval = d.duration(path, v)
	case "balance":
		r.Balance = d.str(path, v)
	case "eject_cooldown":
		r.EjectCooldown = d.duration(path, v)
	case "api_key_env":
		r.APIKeyEnv = d.str(path, v)
	case "upstream_model":
		r.UpstreamModel = d.str(path, v)
	}
}

func applyRemoteDefaults(m *Model) {
	if m.Backend != BackendRemote {
		return
	}
	if m.Remote == nil {
		m.Remote = &Remote{}
	}
	setDefault(&m.Remote.DiscoverInterval, DefaultDiscoverInterval)
	setDefault(&m.Remote.Balance, BalanceLeastRequests)
	setDefault(&m.Remote.EjectCooldown, DefaultEjectCooldown)
	setDefault(&m.Remote.UpstreamModel, m.ID)
}

// validateBackendKeys refuses the keys the model's backend kind has no
// use for: a remote backend's process keys, a local one's remote keys.
func validateBackendKeys(m *Model, path string, p *problems) {
	for _, k := range m.given {
		switch {
		case m.Backend == BackendRemote && slices.Contains(processKeys, k):
			p.add(path+"."+k, "a remote backend takes no %s: custos does not run its process (it is never started, stopped, loaded or unloaded here)", k)
		case m.Backend != BackendRemote && slices.Contains(remoteKeys, k):
			p.add(path+"."+k, "only a remote backend (backend: remote) takes %s", k)
		}
	}
}

// validateRemote checks where a remote model's replicas are.
func validateRemote(m *Model, path string, p *problems) {
	r := m.Remote
	given := func(k string) bool { return slices.Contains(m.given, k) }
	switch n := btoi(given("url")) + btoi(given("urls")) + btoi(given("discover")); {
	case n == 0:
		p.add(path, "a remote backend needs one of url, urls or discover")
	case n > 1:
		p.add(path, "give exactly one of url, urls or discover")
	}
	if given("urls") && len(r.URLs) == 0 {
		p.add(path+".urls", "lists no URL")
	}
	key := "url"
	if given("urls") {
		key = "urls"
	}
	seen := map[string]bool{}
	for i, raw := range r.URLs {
		kp := path + ".url"
		if key == "urls" {
			kp = fmt.Sprintf("%s.urls[%d]", path, i)
		}
		u, ok := checkRemoteURL(kp, raw, p)
		if !ok {
			continue
		}
		if seen[u] {
			p.add(kp, "%q is listed twice", raw)
		}
		seen[u] = true
		r.URLs[i] = u
	}
	if given("discover") {
		if u, ok := checkRemoteURL(path+".discover", r.Discover, p); ok {
			r.Discover = u
		}
	} else if given("discover_interval") {
		p.add(path+".discover_interval", "applies only with discover")
	}
	switch r.Balance {
	case BalanceLeastRequests, BalancePrefixAffinity:
	default:
		p.add(path+".balance", "%q is not one of %s, %s", r.Balance, BalanceLeastRequests, BalancePrefixAffinity)
	}
	if r.APIKeyEnv != "" {
		r.APIKey = strings.TrimSpace(os.Getenv(r.APIKeyEnv))
		if r.APIKey == "" {
			p.add(path+".api_key_env", "environment variable %s is not set", r.APIKeyEnv)
		}
	}
	if strings.TrimSpace(r.UpstreamModel) == "" {
		p.add(path+".upstream_model", "is empty")
	}
}

// checkRemoteURL returns raw without a trailing slash if it is an http(s)
// URL with a host and nothing custos could not honour (credentials, a
// query, a fragment), and not ending in /v1: the request's own path is
// appended to it.
func checkRemoteURL(path, raw string, p *problems) (string, bool) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		p.add(path, "is empty")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
		p.add(path, "%q is not an http(s) URL with a host", raw)
	case u.User != nil:
		p.add(path, "%q carries credentials: give the key in api_key_env", raw)
	case u.RawQuery != "" || u.Fragment != "":
		p.add(path, "%q has a query or a fragment; give the server's base URL", raw)
	case strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/v1"):
		p.add(path, "%q ends in /v1: give the server's root (custos appends the request's path, /v1/... included)", raw)
	case u.Port() != "" && !validPort(u.Port()):
		p.add(path, "%q has no valid port", raw)
	default:
		return strings.TrimRight(raw, "/"), true
	}
	return "", false
}

func validPort(s string) bool {
	_, err := net.LookupPort("tcp", s)
	return err == nil && s != "0"
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
