package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/llama/llamatest"
)

// startLlamaServer runs the real llama-server on the generated model at
// 127.0.0.1:port, as a server custos does not start, and kills it when
// the test ends. It returns once /health answers 200.
func startLlamaServer(t *testing.T, port string) *exec.Cmd {
	t.Helper()
	model, err := engineModel()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(llamatest.LlamaServer(t), "-m", model, "--host", "127.0.0.1", "--port", port, "-np", "2", "-c", "2048", "-t", "1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://127.0.0.1:" + port + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("llama-server on port %s did not answer /health with 200 within 30s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// backend: remote in front of two real llama-server processes: one killed
// with SIGKILL is ejected while every request is served by the other, and
// started again on its port it is admitted again and serves.
func TestRemoteReplicasOnTheRealLlamaServer(t *testing.T) {
	ports := []string{freePort(t), freePort(t)}
	servers := []*exec.Cmd{startLlamaServer(t, ports[0]), startLlamaServer(t, ports[1])}
	urls := []string{"http://127.0.0.1:" + ports[0], "http://127.0.0.1:" + ports[1]}
	front := startCustos(t, fmt.Sprintf(`models:
  tiny:
    backend: remote
    urls: [%q, %q]
    health_interval: 200ms
    health_timeout: 200ms
    unhealthy_after: 2
    eject_cooldown: 1s
    max_concurrency: 4
`, urls[0], urls[1]))
	front.waitState("tiny", "ready", 30*time.Second)
	front.Eventually("both llama-servers ready at the front", 20*time.Second, func() bool {
		s := front.replicaStates("tiny")
		return s[urls[0]] == "ready" && s[urls[1]] == "ready"
	})
	if r := front.chat(t.Context(), "tiny", true); r.Status != 200 || !strings.Contains(string(r.Body), "data: [DONE]") || !strings.Contains(string(r.Body), `"model":"tiny"`) {
		t.Fatalf("a stream through the front: %d %s", r.Status, r.Body)
	}

	const n, killAt = 40, 8
	body := `{"model":"tiny","messages":[{"role":"user","content":"hello"}],"max_tokens":4}`
	counts := hammer(front, body, 2, n, killAt, func() { _ = servers[0].Process.Signal(syscall.SIGKILL) })
	t.Logf("requests sent %d with a llama-server killed: %v", n, counts)
	if counts["200"] != n {
		t.Fatalf("%d of %d requests served with one llama-server killed: %v", counts["200"], n, counts)
	}
	front.Eventually("the killed llama-server ejected at the front", 10*time.Second, func() bool {
		return front.replicaStates("tiny")[urls[0]] == "ejected"
	})

	startLlamaServer(t, ports[0])
	front.Eventually("the restarted llama-server admitted again", 20*time.Second, func() bool {
		return front.replicaStates("tiny")[urls[0]] == "ready"
	})
	if r := front.chat(t.Context(), "tiny", false); r.Status != 200 {
		t.Fatalf("a chat after the llama-server came back: %d %s", r.Status, r.Body)
	}
}
