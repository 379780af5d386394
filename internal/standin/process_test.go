package standin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the standin command built once by TestMain, for the faults
// that end or signal the real process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "standin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "standin")
	build := exec.Command("go", "build", "-o", binary, "custos/cmd/standin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building standin: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running standin process.
type proc struct {
	cmd    *exec.Cmd
	addr   string // set once it listens
	exited chan struct{}
	err    error
}

// launch starts the binary on a free port (--port 0) and, if listens,
// waits for its "standin listening on" line.
func launch(t *testing.T, listens bool, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--port", "0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(waitLimit):
			t.Errorf("standin %d not reaped within %v of SIGKILL", cmd.Process.Pid, waitLimit)
		}
	})
	if !listens {
		return p
	}
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(line, "standin listening on ")
		if !ok {
			t.Fatalf("first stdout line %q", line)
		}
		p.addr = "http://" + addr
	case <-p.exited:
		t.Fatalf("exited before listening: %v", p.err)
	case <-time.After(waitLimit):
		t.Fatalf("not listening within %v", waitLimit)
	}
	return p
}

// exitCode waits for the process to end and returns its exit status, or
// -1 if a signal ended it.
func (p *proc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(waitLimit):
		t.Fatalf("process did not exit within %v", waitLimit)
	}
	var ee *exec.ExitError
	if p.err == nil {
		return 0
	}
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", p.err)
	return 0
}

func TestProcessCrashDuringLoadExits1(t *testing.T) {
	p := launch(t, true, "--load-time", "200ms", "--crash-during-load")
	if code := p.exitCode(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestProcessCrashAfterExits1(t *testing.T) {
	p := launch(t, true, "--crash-after", "50ms")
	if code := p.exitCode(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestProcessCrashOnRequestExits1(t *testing.T) {
	p := launch(t, true, "--crash-on-request")
	if resp, err := testClient.Post(p.addr+"/v1/chat/completions", "application/json", strings.NewReader(chatBody)); err == nil {
		resp.Body.Close()
		t.Errorf("answered %d", resp.StatusCode)
	}
	if code := p.exitCode(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestProcessCrashMidStreamExits1AfterNChunks(t *testing.T) {
	p := launch(t, true, "--crash-mid-stream", "2", "--stream-chunks", "6")
	resp, err := testClient.Post(p.addr+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true,"messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if events := readEvents(resp.Body); len(events) != 2 {
		t.Errorf("events = %q, want exactly 2 chunks", events)
	}
	if code := p.exitCode(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestProcessControlCrashExits1(t *testing.T) {
	p := launch(t, true)
	if resp, err := testClient.Post(p.addr+"/_standin/crash", "", nil); err == nil {
		resp.Body.Close()
	}
	if code := p.exitCode(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestProcessFailStartsCountsInStateFile(t *testing.T) {
	state := filepath.Join(t.TempDir(), "starts")
	for i := 1; i <= 2; i++ {
		p := launch(t, false, "--fail-starts", "2", "--state-file", state)
		if code := p.exitCode(t); code != 1 {
			t.Fatalf("start %d: exit code %d, want 1", i, code)
		}
	}
	p := launch(t, true, "--fail-starts", "2", "--state-file", state)
	resp, err := testClient.Get(p.addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("third start health %d, want 200", resp.StatusCode)
	}
}

func TestProcessSIGTERMShutsDownWith0(t *testing.T) {
	p := launch(t, true)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exitCode(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

func TestProcessIgnoreSIGTERMNeedsSIGKILL(t *testing.T) {
	p := launch(t, true, "--ignore-sigterm")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Without the flag the process exits within milliseconds; give it
	// ample time to do so wrongly, then check it still serves.
	select {
	case <-p.exited:
		t.Fatalf("exited on SIGTERM: %v", p.err)
	case <-time.After(500 * time.Millisecond):
	}
	resp, err := testClient.Get(p.addr + "/health")
	if err != nil {
		t.Fatalf("not serving after SIGTERM: %v", err)
	}
	resp.Body.Close()
	p.cmd.Process.Signal(syscall.SIGKILL)
	if code := p.exitCode(t); code != -1 {
		t.Errorf("exit code %d, want -1 (killed)", code)
	}
}

func TestProcessPrintsModelAndRequestLines(t *testing.T) {
	var stderr strings.Builder
	// --crash-after ends the process; the context, a hang of the test.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--port", "0", "-m", "/models/x.gguf", "--crash-after", "100ms")
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	if ctx.Err() != nil {
		t.Fatalf("standin --crash-after 100ms still running after %v; stdout %q", waitLimit, out)
	}
	if !strings.HasPrefix(string(out), "standin listening on 127.0.0.1:") {
		t.Errorf("stdout %q", out)
	}
	if !strings.Contains(stderr.String(), "/models/x.gguf") {
		t.Errorf("stderr %q does not echo the model", stderr.String())
	}
}
