// Package proctest runs custos and the stand-in backend as real processes
// for the end-to-end and chaos suites: it builds the binaries once, writes
// configurations on free loopback ports, starts `custos serve`, waits for it
// and stops it with real signals. Only tests import it.
package proctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"custos/internal/freeport"
)

// Binaries are custos and the stand-in, built for one test binary.
type Binaries struct {
	Dir     string // a temporary folder, also for files generated once per test binary
	Custos  string
	Standin string
}

// Build builds custos and the stand-in (CGO_ENABLED=0, as released) into a
// new temporary folder named after prefix.
func Build(prefix string) (*Binaries, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	b := &Binaries{Dir: dir, Custos: filepath.Join(dir, "custos"), Standin: filepath.Join(dir, "standin")}
	for bin, pkg := range map[string]string{b.Custos: "custos/cmd/custos", b.Standin: "custos/cmd/standin"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
	}
	return b, nil
}

// Main is a TestMain body: it builds the binaries, runs the tests and
// removes the binaries.
func Main(m *testing.M, prefix string, bins **Binaries) {
	b, err := Build(prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bins = b
	code := m.Run()
	os.RemoveAll(b.Dir)
	os.Exit(code)
}

// StandinCmd is the YAML flow list that runs the stand-in with extra flags.
func (b *Binaries) StandinCmd(flags ...string) string {
	parts := []string{fmt.Sprintf("%q", b.Standin), `"--host"`, `"${HOST}"`, `"--port"`, `"${PORT}"`}
	for _, f := range flags {
		parts = append(parts, fmt.Sprintf("%q", f))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Client is for the tests' own short requests to custos and its backends
// (status, admin routes, probes): its timeout makes a process that stops
// answering a failed request, not a hung test, and is short enough for a
// poll inside Eventually to keep to its deadline.
var Client = &http.Client{Timeout: 10 * time.Second}

// Receive returns the next value from ch (the zero value once ch is
// closed), failing the test if none comes within the given time.
func Receive[T any](t testing.TB, what string, within time.Duration, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("timed out after %v waiting for: %s", within, what)
		var zero T
		return zero
	}
}

// Done returns a channel closed once wg's counter is zero, for Receive.
func Done(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// Refuses reports whether a new TCP connection to addr is refused.
func Refuses(addr string) bool {
	conn, err := net.Dial("tcp", addr)
	if err == nil {
		conn.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// testPorts hands out the ports of the servers a test binary starts. It never takes one back: a test binary
// starts a few hundred servers at most, and a port handed out once is never handed out to a second server
// that might start before the first has bound it, or while it still runs.
var testPorts freeport.Pool

// FreeAddr returns a 127.0.0.1 address that was free a moment ago and that no other FreeAddr of this test
// binary returned.
func FreeAddr(t testing.TB) string {
	t.Helper()
	port, err := testPorts.Take("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// WriteConfig writes a configuration into dir, with `listen` on a free
// port, JSON logs at logLevel and, unless yaml sets one, a store in dir
// filled in, and returns its path.
func WriteConfig(t testing.TB, dir, logLevel, yaml string) string {
	t.Helper()
	head := "listen: " + FreeAddr(t) + "\nlog: {level: " + logLevel + ", format: json}\n"
	if !strings.Contains(yaml, "store:") {
		head += "store: {path: " + filepath.Join(dir, "custos.db") + "}\n"
	}
	path := filepath.Join(dir, "custos.yaml")
	if err := os.WriteFile(path, []byte(head+yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Buffer collects a process's output safely while it runs.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Custos is a running `custos serve` process.
type Custos struct {
	T      testing.TB
	Addr   string
	Cmd    *exec.Cmd
	Output *Buffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed
}

// Start runs `bin serve --config cfgPath` and waits until it answers
// /livez; the test's cleanup stops it. The configuration's first line must
// be its `listen:` (WriteConfig writes it so).
func Start(t testing.TB, bin, cfgPath string) *Custos {
	t.Helper()
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "listen:"))
	c := &Custos{T: t, Addr: addr, Output: &Buffer{}, exited: make(chan struct{})}
	c.Cmd = exec.Command(bin, "serve", "--config", cfgPath)
	c.Cmd.Stdout, c.Cmd.Stderr = c.Output, c.Output
	// Once custos has exited, its output is waited for no longer than
	// this, even if a process it left behind still holds the pipe.
	c.Cmd.WaitDelay = 10 * time.Second
	if err := c.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.Cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.Stop)
	c.Eventually("custos answers /livez", 20*time.Second, func() bool {
		select {
		case <-c.exited:
			t.Fatalf("custos exited at start: %v\n%s", c.err, c.Output.String())
		default:
		}
		resp, err := Client.Get(c.URL("/livez"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return c
}

// URL is the address of path on this custos.
func (c *Custos) URL(path string) string { return "http://" + c.Addr + path }

// Stop sends SIGTERM and waits, killing the process after 30 s; on test
// failure it logs the end of custos's output.
func (c *Custos) Stop() {
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	if _, ok := c.Wait(30 * time.Second); !ok {
		_ = c.Cmd.Process.Kill()
		if _, ok := c.Wait(30 * time.Second); !ok {
			c.T.Errorf("custos (pid %d) not reaped within 30s of SIGKILL", c.Cmd.Process.Pid)
		}
	}
	if c.T.Failed() {
		c.T.Logf("custos output (last 16 KiB):\n%s", Tail(c.Output.String(), 16<<10))
	}
}

// Wait waits for the process to exit and returns its exit status; ok is
// false if it is still running after d.
func (c *Custos) Wait(d time.Duration) (err error, ok bool) {
	select {
	case <-c.exited:
		return c.err, true
	case <-time.After(d):
		return nil, false
	}
}

// Eventually polls cond every 10 ms until it holds, failing the test if
// it does not within the given time.
func (c *Custos) Eventually(what string, within time.Duration, cond func() bool) {
	c.T.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			c.T.Fatalf("timed out after %v waiting for: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Tail is the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Reply is a completed HTTP exchange.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

// ErrorCode is the `error.code` of an OpenAI-shaped error body.
func (r Reply) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

func (r Reply) String() string {
	if r.Err != nil {
		return "error: " + r.Err.Error()
	}
	return fmt.Sprintf("%d %s", r.Status, Tail(string(r.Body), 300))
}

// Post sends a JSON body with client and reads the whole answer.
func Post(ctx context.Context, client *http.Client, url, body string) Reply {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		return Reply{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Reply{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}
