package config

import (
	"testing"
	"time"
)

func TestRemoteBackendKeys(t *testing.T) {
	t.Setenv("UPSTREAM_KEY", "k")
	cfg, err := parse(t, `
models:
  one: {backend: remote, url: "http://10.0.0.1:8080/"}
  many:
    backend: remote
    urls: [http://10.0.0.1:8080, "https://gpu2.example:8443/prefix"]
    balance: prefix_affinity
    eject_cooldown: 5s
    api_key_env: UPSTREAM_KEY
    upstream_model: big
    health_check: models
  found: {backend: remote, discover: "http://hosts.custos.svc:8080", discover_interval: 3s}
`)
	if err != nil {
		t.Fatal(err)
	}
	one, many, found := cfg.Models[0].Remote, cfg.Models[1].Remote, cfg.Models[2].Remote
	if len(one.URLs) != 1 || one.URLs[0] != "http://10.0.0.1:8080" || one.Balance != BalanceLeastRequests ||
		one.EjectCooldown != DefaultEjectCooldown || one.UpstreamModel != "one" || one.APIKey != "" {
		t.Fatalf("url defaults: %+v", one)
	}
	if len(many.URLs) != 2 || many.URLs[1] != "https://gpu2.example:8443/prefix" || many.Balance != BalancePrefixAffinity ||
		many.EjectCooldown != 5*time.Second || many.APIKey != "k" || many.UpstreamModel != "big" || cfg.Models[1].HealthCheck != HealthCheckModels {
		t.Fatalf("urls: %+v", many)
	}
	if found.Discover != "http://hosts.custos.svc:8080" || found.DiscoverInterval != 3*time.Second || len(found.URLs) != 0 {
		t.Fatalf("discover: %+v", found)
	}
	if need, _, ok := cfg.Models[0].Footprint(); ok || need != 0 {
		t.Fatalf("a remote model takes no memory of this machine's budget: %d %v", need, ok)
	}
}

func TestRemoteBackendMistakesNameTheKey(t *testing.T) {
	runBadConfigs(t, []badConfig{
		{"no replicas", `models: {r: {backend: remote}}`, "models.r", "one of url, urls or discover"},
		{"url and urls", `models: {r: {backend: remote, url: "http://a:1", urls: ["http://b:1"]}}`, "models.r", "exactly one"},
		{"url and discover", `models: {r: {backend: remote, url: "http://a:1", discover: "http://b:1"}}`, "models.r", "exactly one"},
		{"empty urls", `models: {r: {backend: remote, urls: []}}`, "models.r.urls", "lists no URL"},
		{"not http", `models: {r: {backend: remote, url: "ftp://a:1"}}`, "models.r.url", "not an http(s) URL"},
		{"no host", `models: {r: {backend: remote, urls: ["http://a:1", "http://"]}}`, "models.r.urls[1]", "not an http(s) URL"},
		{"bad port", `models: {r: {backend: remote, url: "http://a:99999"}}`, "models.r.url", "no valid port"},
		{"credentials", `models: {r: {backend: remote, url: "http://u:p@a:1"}}`, "models.r.url", "credentials"},
		{"query", `models: {r: {backend: remote, url: "http://a:1/?x=1"}}`, "models.r.url", "query"},
		{"ends in v1", `models: {r: {backend: remote, url: "http://a:1/v1"}}`, "models.r.url", "ends in /v1"},
		{"twice", `models: {r: {backend: remote, urls: ["http://a:1", "http://a:1/"]}}`, "models.r.urls[1]", "listed twice"},
		{"bad discover", `models: {r: {backend: remote, discover: "a:1"}}`, "models.r.discover", "not an http(s) URL"},
		{"interval without discover", `models: {r: {backend: remote, url: "http://a:1", discover_interval: 1s}}`, "models.r.discover_interval", "only with discover"},
		{"balance", `models: {r: {backend: remote, url: "http://a:1", balance: random}}`, "models.r.balance", "not one of"},
		{"cool-down", `models: {r: {backend: remote, url: "http://a:1", eject_cooldown: 0s}}`, "models.r.eject_cooldown", "greater than zero"},
		{"key unset", `models: {r: {backend: remote, url: "http://a:1", api_key_env: CUSTOS_TEST_UNSET_KEY}}`, "models.r.api_key_env", "not set"},
		{"cmd", `models: {r: {backend: remote, url: "http://a:1", cmd: [llama-server]}}`, "models.r.cmd", "remote backend takes no cmd"},
		{"args", `models: {r: {backend: remote, url: "http://a:1", args: ["-c", "1"]}}`, "models.r.args", "remote backend takes no args"},
		{"env", `models: {r: {backend: remote, url: "http://a:1", env: {A: b}}}`, "models.r.env", "remote backend takes no env"},
		{"model file", `models: {r: {backend: remote, url: "http://a:1", model: tiny.gguf}}`, "models.r.model", "remote backend takes no model"},
		{"restart_max", `models: {r: {backend: remote, url: "http://a:1", restart_max: 2}}`, "models.r.restart_max", "takes no restart_max"},
		{"restart_backoff", `models: {r: {backend: remote, url: "http://a:1", restart_backoff: 1s}}`, "models.r.restart_backoff", "takes no restart_backoff"},
		{"memory", `models: {r: {backend: remote, url: "http://a:1", memory: 1GiB}}`, "models.r.memory", "takes no memory"},
		{"load", `models: {r: {backend: remote, url: "http://a:1", load: on_demand}}`, "models.r.load", "takes no load"},
		{"ttl", `models: {r: {backend: remote, url: "http://a:1", ttl: 5m}}`, "models.r.ttl", "takes no ttl"},
		{"remote key on a local backend", `models: {r: {model: tiny.gguf, url: "http://a:1"}}`, "models.r.url", "only a remote backend"},
		{"models probe on a local backend", `models: {r: {model: tiny.gguf, health_check: models}}`, "models.r.health_check", "for a remote backend"},
	})
}
