package main

import (
	"bufio"
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
	"time"
)

// custosProc is one `custos serve` process the bench runs and measures.
type custosProc struct {
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}

	mu        sync.Mutex
	loadTimes []time.Duration // one per "backend ready" log line
	tail      []string        // the last lines of its log, for errors
}

// startCustos writes a configuration under dir (listen address, JSON log
// and store filled in) and runs custos on it until /livez answers.
func startCustos(bin, dir, yaml string) (*custosProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf("listen: %s\nlog: {level: info, format: json}\nstore: {path: %s}\n", addr, filepath.Join(dir, "custos.db"))
	path := filepath.Join(dir, "custos.yaml")
	if err := os.WriteFile(path, []byte(head+yaml), 0o644); err != nil {
		return nil, err
	}
	c := &custosProc{addr: addr, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "serve", "--config", path)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c.cmd.Stdout = io.Discard
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go c.readLog(stderr)
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-c.exited:
			return nil, fmt.Errorf("custos exited at start:\n%s", c.logTail())
		default:
		}
		if resp, err := http.Get(c.url("/livez")); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("custos did not answer /livez within 30s:\n%s", c.logTail())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readLog keeps the log's tail and the load time of every backend start.
func (c *custosProc) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var ev struct {
			Msg      string `json:"msg"`
			LoadTime string `json:"load_time"`
		}
		c.mu.Lock()
		c.tail = append(c.tail, line)
		if len(c.tail) > 40 {
			c.tail = c.tail[len(c.tail)-40:]
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Msg == "backend ready" {
			if d, err := time.ParseDuration(ev.LoadTime); err == nil {
				c.loadTimes = append(c.loadTimes, d)
			}
		}
		c.mu.Unlock()
	}
}

func (c *custosProc) logTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// backendStarts returns the load times custos has logged so far.
func (c *custosProc) backendStarts() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.loadTimes...)
}

func (c *custosProc) url(path string) string { return "http://" + c.addr + path }

// stop sends SIGTERM and waits for the exit (SIGKILL after 20 s).
func (c *custosProc) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// modelStatus is the part of a model's /status entry the bench reads.
type modelStatus struct {
	Model    string `json:"model"`
	State    string `json:"state"`
	URL      string `json:"url"`
	PID      int    `json:"pid"`
	InFlight int    `json:"in_flight"`
	Queued   int    `json:"queued"`
}

type status struct {
	Intervention *struct {
		Counters struct {
			RequestsWaiting int64 `json:"requests_waiting"`
		} `json:"counters"`
	} `json:"intervention"`
	Models []modelStatus `json:"models"`
}

func (c *custosProc) status() (status, error) {
	var st status
	resp, err := http.Get(c.url("/status"))
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (c *custosProc) model(id string) (modelStatus, error) {
	st, err := c.status()
	if err != nil {
		return modelStatus{}, err
	}
	for _, m := range st.Models {
		if m.Model == id {
			return m, nil
		}
	}
	return modelStatus{}, fmt.Errorf("model %s not in /status", id)
}

// waitFor polls cond every millisecond until it holds or within passes.
func (c *custosProc) waitFor(what string, within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		select {
		case <-c.exited:
			return fmt.Errorf("custos exited while waiting for %s:\n%s", what, c.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s:\n%s", within, what, c.logTail())
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// waitReady waits until the model is ready and returns its status.
func (c *custosProc) waitReady(id string, within time.Duration) (modelStatus, error) {
	var m modelStatus
	err := c.waitFor("model "+id+" ready", within, func() bool {
		var err error
		m, err = c.model(id)
		return err == nil && m.State == "ready"
	})
	return m, err
}

// admin posts to an admin route (custos allows loopback without a token).
func (c *custosProc) admin(path, body string) error {
	resp, err := http.Post(c.url(path), "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, b)
	}
	return nil
}

// rss returns the resident set size of a process, in bytes.
func rss(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// profile fetches a CPU profile of custos over the next d into path.
func (c *custosProc) profile(ctx context.Context, d time.Duration, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds()))), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: status %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
