package fleet

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/netns"
	"custos/internal/proctest"
)

// node is one `custos serve` process running on a host of the network.
type node struct {
	// t is the test the node acts for now (a scenario of TestFleet);
	// owner the one that started it, whose cleanup stops it.
	t, owner testing.TB
	name     string
	host     *netns.Host
	addr     string // host:port custos listens on
	cfgPath  string
	env      []string
	cmd      *exec.Cmd
	out      *proctest.Buffer
	exited   chan struct{}
	stopped  bool // SIGSTOPped: SIGCONT before anything else
}

// startNode writes cfg to a folder of the test and runs custos on it on
// host h; the test's cleanup stops it. It does not wait for readiness.
func startNode(t testing.TB, name string, h *netns.Host, cfg string, env ...string) *node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, owner: t, name: name, host: h, addr: h.Addr + ":8080", cfgPath: filepath.Join(dir, "custos.yaml"),
		env: append(os.Environ(), append([]string{adminTokenEnv + "=" + adminToken}, env...)...)}
	if err := os.WriteFile(n.cfgPath, []byte("listen: "+n.addr+"\n"+cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *node) start() {
	n.t.Helper()
	n.out, n.exited = &proctest.Buffer{}, make(chan struct{})
	n.cmd = n.host.Command(context.Background(), bins.Custos, "serve", "--config", n.cfgPath)
	n.cmd.Env = n.env
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	n.cmd.WaitDelay = 10 * time.Second
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("%s: %v", n.name, err)
	}
	exited := n.exited
	go func() { _ = n.cmd.Wait(); close(exited) }()
}

func (n *node) url(path string) string { return "http://" + n.addr + path }

// waitReady waits until /readyz answers 200.
func (n *node) waitReady(within time.Duration) {
	n.t.Helper()
	eventually(n.t, n.name+" answers /readyz 200", within, func() bool {
		select {
		case <-n.exited:
			n.t.Fatalf("%s exited: %s", n.name, proctest.Tail(n.out.String(), 4<<10))
		default:
		}
		resp, err := probeClient.Get(n.url("/readyz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	n.t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	n.waitExit(30 * time.Second)
}

// restart starts the process again on the same configuration.
func (n *node) restart() { n.start() }

// hang stops the process with SIGSTOP: it holds its sockets and answers
// nothing, as a process stuck in a GPU driver does.
func (n *node) hang() {
	_ = n.cmd.Process.Signal(syscall.SIGSTOP)
	n.stopped = true
}

// resume continues a hung process.
func (n *node) resume() {
	_ = n.cmd.Process.Signal(syscall.SIGCONT)
	n.stopped = false
}

// stop ends the process with SIGTERM (SIGKILL after 30 s), and logs its
// output when the test failed.
func (n *node) stop() {
	if n.stopped {
		n.resume()
	}
	select {
	case <-n.exited:
	default:
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(30 * time.Second):
			_ = n.cmd.Process.Kill()
			select {
			case <-n.exited:
			case <-time.After(30 * time.Second):
				n.owner.Errorf("%s (pid %d) still runs 30s after SIGKILL", n.name, n.cmd.Process.Pid)
			}
		}
	}
	if n.owner.Failed() {
		n.owner.Logf("%s output (last 8 KiB):\n%s", n.name, proctest.Tail(n.out.String(), 8<<10))
	}
}

func (n *node) waitExit(within time.Duration) {
	n.t.Helper()
	select {
	case <-n.exited:
	case <-time.After(within):
		n.t.Fatalf("%s (pid %d) still runs %v after SIGKILL", n.name, n.cmd.Process.Pid, within)
	}
}

// eventually polls cond every 10 ms until it holds, failing the test if
// it does not within the given time.
func eventually(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logLine is what logged reads of one line of custos's JSON log.
type logLine struct {
	Time   time.Time `json:"time"`
	Msg    string    `json:"msg"`
	Reason string    `json:"reason"`
}

// logged is the time of the first line of n's log with that message and
// reason, as custos itself stamped it.
func (n *node) logged(msg, reason string) (time.Time, bool) {
	for _, line := range strings.Split(n.out.String(), "\n") {
		var l logLine
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == msg && l.Reason == reason {
			return l.Time, true
		}
	}
	return time.Time{}, false
}
