package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// frontOf is the configuration of a front custos whose model tiny is
// served by the host custos at hosts (the two-tier layout).
func frontOf(hosts ...*custos) string {
	urls := make([]string, len(hosts))
	for i, h := range hosts {
		urls[i] = fmt.Sprintf("%q", "http://"+h.Addr)
	}
	return fmt.Sprintf(`models:
  tiny:
    backend: remote
    urls: [%s]
    health_interval: 200ms
    health_timeout: 200ms
    unhealthy_after: 2
    eject_cooldown: 2s
    max_concurrency: 8
`, strings.Join(urls, ", "))
}

// replicaStates are the front's replicas of model by URL, from /status.
func (c *custos) replicaStates(model string) map[string]string {
	out := map[string]string{}
	m := c.modelState(model)
	reps, _ := m["replicas"].([]any)
	for _, r := range reps {
		r := r.(map[string]any)
		out[r["url"].(string)] = r["state"].(string)
	}
	return out
}

// hammer sends n requests with body from clients goroutines; at the
// request numbered at, act runs once. It returns the count of answers by
// status ("error" for a transport failure).
func hammer(c *custos, body string, clients, n, at int, act func()) map[string]int {
	var next atomic.Int64
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if i == at {
					act()
				}
				r := c.post(context.Background(), "/v1/chat/completions", body)
				key := fmt.Sprint(r.Status)
				if r.Err != nil {
					key = "error"
				}
				mu.Lock()
				counts[key]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return counts
}

// The two-tier layout: a front custos routes to two host custos, each
// supervising its backend. One host killed with SIGKILL (its backend
// follows it, by its parent-death signal) is ejected at the front, and
// every request is served by the other.
func TestTwoTierLayoutSurvivesAHostKilled(t *testing.T) {
	hostA := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), ""))
	hostB := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), ""))
	hostA.waitState("tiny", "ready", 20*time.Second)
	hostB.waitState("tiny", "ready", 20*time.Second)
	front := startCustos(t, frontOf(hostA, hostB))
	front.waitState("tiny", "ready", 20*time.Second)
	front.Eventually("both replicas ready at the front", 20*time.Second, func() bool {
		s := front.replicaStates("tiny")
		return s["http://"+hostA.Addr] == "ready" && s["http://"+hostB.Addr] == "ready"
	})

	const n, killAt = 300, 60
	counts := hammer(front, `{"model":"tiny","messages":[{"role":"user","content":"hello"}]}`, 4, n, killAt, func() { _ = hostA.Cmd.Process.Signal(syscall.SIGKILL) })
	t.Logf("requests sent %d: %v", n, counts)
	if counts["200"] != n {
		t.Fatalf("%d of %d requests served with a host killed: %v", counts["200"], n, counts)
	}
	front.Eventually("the killed host ejected at the front", 10*time.Second, func() bool {
		return front.replicaStates("tiny")["http://"+hostA.Addr] == "ejected"
	})
	if s := front.modelState("tiny"); s["state"] != "ready" {
		t.Fatalf("the front's model with one host left: %v", s["state"])
	}
}

// The two-tier layout on the real engine: each host custos runs the
// runner. A host stopped with SIGTERM drains — its /v1 answers 503
// shutting_down while it finishes what it holds — and the front tries
// those requests on the other host; none fails.
func TestTwoTierLayoutOnTheRunnerSurvivesAHostDraining(t *testing.T) {
	model, err := engineModel()
	if err != nil {
		t.Fatal(err)
	}
	host := func() *custos {
		return startCustos(t, fmt.Sprintf("models:\n  tiny:\n%s    health_interval: 200ms\n    health_timeout: 200ms\n    ready_timeout: 60s\n    stop_timeout: 5s\nshutdown_timeout: 2s\n",
			runnerBlock(t, model)))
	}
	hostA, hostB := host(), host()
	hostA.waitState("tiny", "ready", 60*time.Second)
	hostB.waitState("tiny", "ready", 60*time.Second)
	front := startCustos(t, frontOf(hostA, hostB))
	front.Eventually("both replicas ready at the front", 20*time.Second, func() bool {
		s := front.replicaStates("tiny")
		return s["http://"+hostA.Addr] == "ready" && s["http://"+hostB.Addr] == "ready"
	})
	body := `{"model":"tiny","max_tokens":4,"messages":[{"role":"user","content":"hello"}]}`
	if r := front.post(context.Background(), "/v1/chat/completions", body); r.Status != 200 || !strings.Contains(string(r.Body), `"model":"tiny"`) {
		t.Fatalf("through the front to the runner: %v", r)
	}
	// A request to host A whose body never finishes keeps it draining
	// after SIGTERM (shutdown_timeout: 2s), as a long generation would:
	// meanwhile its listener is open and its /v1 answers 503
	// shutting_down, which the front must try on host B.
	slow, err := net.Dial("tcp", hostA.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := fmt.Fprintf(slow, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\""); err != nil {
		t.Fatal(err)
	}
	const n, stopAt = 40, 8
	counts := hammer(front, body, 2, n, stopAt, func() { _ = hostA.Cmd.Process.Signal(syscall.SIGTERM) })
	unavailable, cut := 0, 0
	for _, line := range strings.Split(front.Output.String(), "\n") {
		switch {
		case !strings.Contains(line, "trying another"):
		case strings.Contains(line, "answered 503"):
			unavailable++
		default:
			cut++
		}
	}
	t.Logf("requests sent %d: %v; tried on the other host after a 503: %d, after a refused or cut connection: %d", n, counts, unavailable, cut)
	if counts["200"] != n {
		t.Fatalf("%d of %d requests served with a host draining: %v", counts["200"], n, counts)
	}
	if unavailable == 0 {
		t.Fatal("no request met the draining host's 503: the test did not exercise it")
	}
	if err, ok := hostA.Wait(30 * time.Second); !ok || exitCode(err) != 0 {
		t.Fatalf("the drained host: exited %v, %v", ok, err)
	}
	front.Eventually("the stopped host ejected at the front", 10*time.Second, func() bool {
		return front.replicaStates("tiny")["http://"+hostA.Addr] == "ejected"
	})
}

// A remote backend's configuration mistakes stop custos serve with exit
// status 2 and a message naming the key.
func TestRemoteBackendConfigMistakesExit2(t *testing.T) {
	cases := []struct{ yaml, key string }{
		{"models:\n  tiny: {backend: remote, url: \"ftp://host:1\"}\n", "models.tiny.url"},
		{"models:\n  tiny: {backend: remote, urls: [\"http://a:1\"], cmd: [llama-server]}\n", "models.tiny.cmd"},
		{"models:\n  tiny: {backend: remote, url: \"http://a:1\", discover: \"http://b:1\"}\n", "models.tiny"},
		{"models:\n  tiny: {backend: remote, url: \"http://a:1\", restart_max: 2}\n", "models.tiny.restart_max"},
		{"models:\n  tiny: {backend: remote, url: \"http://a:1\", balance: random}\n", "models.tiny.balance"},
	}
	for i, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			dir := t.TempDir()
			path := writeConfig(t, dir, tc.yaml)
			ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, bins.Custos, "serve", "--config", path).CombinedOutput()
			if exitCode(err) != 2 || !strings.Contains(string(out), tc.key+":") {
				t.Fatalf("case %d (%s): exit %d\n%s", i, filepath.Base(path), exitCode(err), out)
			}
		})
	}
}
