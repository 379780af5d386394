package e2e

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/proctest"
)

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestSIGTERMWithRequestsInFlight(t *testing.T) {
	// The requests in flight must still be so while /readyz is polled and a
	// new request is refused after the signal: their delay leaves seconds
	// for that on a loaded machine.
	c := startCustos(t, "shutdown_timeout: 20s\nmodels:\n"+fastModel("tiny", standinCmd("--response-delay", "5s"), "    max_concurrency: 4\n"))
	m := c.waitState("tiny", "ready", 20*time.Second)
	backendPID := int(m["pid"].(float64))

	inflight := make(chan reply, 3)
	for range 3 {
		go func() { inflight <- c.chat(context.Background(), "tiny", false) }()
	}
	c.Eventually("three requests in flight", 10*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["in_flight"].(float64) == 3
	})
	if err := c.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.Eventually("/readyz turns 503 while draining", 5*time.Second, func() bool { return c.getStatus("/readyz") == 503 })
	if r := c.chat(context.Background(), "tiny", false); r.Status != 503 || r.ErrorCode() != "shutting_down" {
		t.Fatalf("a new request while draining: %d %s", r.Status, r.Body)
	}
	for range 3 {
		if r := proctest.Receive(t, "an in-flight request's answer", answerWithin, inflight); r.Status != 200 {
			t.Fatalf("an in-flight request did not finish: %d %s %v", r.Status, r.Body, r.Err)
		}
	}
	err, ok := c.Wait(30 * time.Second)
	if !ok {
		t.Fatal("custos did not exit")
	}
	if exitCode(err) != 0 {
		t.Fatalf("custos exited with %v", err)
	}
	if err := syscall.Kill(backendPID, 0); err == nil {
		t.Fatalf("backend %d still runs after custos exited", backendPID)
	}
}

func TestKilledCustosTakesItsBackendsDown(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), ""))
	m := c.waitState("tiny", "ready", 20*time.Second)
	pid := int(m["pid"].(float64))
	_ = c.Cmd.Process.Kill()
	if _, ok := c.Wait(30 * time.Second); !ok {
		t.Fatal("custos not reaped within 30s of SIGKILL")
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("backend %d survived kill -9 of custos", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBadConfigsExit2NamingTheKey(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "models:\n  tiny:\n    backend: llama-server\n    cmd: " + standinCmd() + "\n    colour: red\n", "models.tiny.colour: unknown key"},
		{"bad duration", "models:\n  tiny:\n    backend: llama-server\n    cmd: " + standinCmd() + "\n    health_interval: soon\n", "models.tiny.health_interval"},
		{"missing model file", "models:\n  tiny:\n    model: ./nope.gguf\n", "models.tiny.model"},
		{"duplicate alias", "models:\n  a:\n    backend: llama-server\n    cmd: " + standinCmd() + "\n    aliases: [x]\n  b:\n    backend: llama-server\n    cmd: " + standinCmd() + "\n    aliases: [x]\n", "models.b.aliases[0]"},
		{"port in use", "listen: " + busy.Addr().String() + "\nmodels:\n  tiny:\n    backend: llama-server\n    cmd: " + standinCmd() + "\n", "listen: cannot listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, verb := range []string{"check", "serve"} {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				out, err := exec.CommandContext(ctx, bins.Custos, verb, "--config", path).CombinedOutput()
				cancel()
				if exitCode(err) != 2 || !strings.Contains(string(out), tc.want) {
					t.Errorf("custos %s: exit %d, want 2 and %q in:\n%s", verb, exitCode(err), tc.want, out)
				}
			}
		})
	}
}
