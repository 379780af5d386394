package netns

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// serveOn starts the test binary's HTTP server on host h, port 8080, and
// waits until the test process reaches it over the bridge.
func serveOn(t *testing.T, h *Host) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	addr := h.Addr + ":8080"
	cmd := h.Command(context.Background(), self)
	cmd.Env = append(os.Environ(), serveEnv+"="+addr)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr + "/"
	deadline := time.Now().Add(10 * time.Second)
	for !get(url) {
		if time.Now().After(deadline) {
			t.Fatalf("the server on %s did not answer within 10s: %s", h.Name, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return url
}

func get(url string) bool {
	resp, err := (&http.Client{Timeout: time.Second}).Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == 200
}

// fetchFrom runs the test binary's client on host h.
func fetchFrom(t *testing.T, h *Host, url string) error {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := h.Command(ctx, self)
	cmd.Env = append(os.Environ(), getEnv+"="+url)
	if out, err := cmd.CombinedOutput(); err != nil {
		return &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: out}
	}
	return nil
}

func TestHostsReachEachOtherOverHTTP(t *testing.T) {
	n := New(t, "a", "b")
	if !n.Isolated() {
		t.Fatal("want network namespaces on this machine (root, with ip)")
	}
	a, b := n.Host(t, "a"), n.Host(t, "b")
	if a.Addr == b.Addr {
		t.Fatalf("both hosts have address %s", a.Addr)
	}
	url := serveOn(t, a)
	if err := fetchFrom(t, b, url); err != nil {
		t.Fatalf("b cannot reach a at %s: %v", url, err)
	}
}

// TestAHostDoesNotSeeAnothersLoopback: each host has a loopback of its
// own, up, and not the others'.
func TestAHostDoesNotSeeAnothersLoopback(t *testing.T) {
	n := New(t, "a", "b")
	a, b := n.Host(t, "a"), n.Host(t, "b")
	self, _ := os.Executable()
	cmd := a.Command(context.Background(), self)
	cmd.Env = append(os.Environ(), serveEnv+"=127.0.0.1:8081")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for fetchFrom(t, a, "http://127.0.0.1:8081/") != nil {
		if time.Now().After(deadline) {
			t.Fatal("a does not reach its own loopback within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := fetchFrom(t, b, "http://127.0.0.1:8081/"); err == nil {
		t.Fatal("b reached a server on a's loopback")
	}
}

func TestACutLinkFailsConnectionsUntilRestored(t *testing.T) {
	n := New(t, "a", "b")
	a, b := n.Host(t, "a"), n.Host(t, "b")
	url := serveOn(t, a)

	a.Cut(t)
	start := time.Now()
	if err := fetchFrom(t, b, url); err == nil {
		t.Fatal("b reached a with a's link down")
	}
	if get(url) {
		t.Fatal("the test process reached a with a's link down")
	}
	t.Logf("with the link down, a request failed after %v", time.Since(start).Round(time.Millisecond))

	a.Restore(t)
	deadline := time.Now().Add(10 * time.Second)
	for fetchFrom(t, b, url) != nil {
		if time.Now().After(deadline) {
			t.Fatal("b does not reach a within 10s of the link coming back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCleanupRemovesEverything: after a test, even a failed one, its
// namespaces, links and the processes left in them are gone.
func TestCleanupRemovesEverything(t *testing.T) {
	var made *Network
	var left *exec.Cmd
	t.Run("inner", func(t *testing.T) {
		made = New(t, "a")
		left = made.Host(t, "a").Command(context.Background(), "sleep", "60")
		if err := left.Start(); err != nil {
			t.Fatal(err)
		}
	})
	waited := make(chan error, 1)
	go func() { waited <- left.Wait() }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("the process left on the host still runs 10s after cleanup")
	}
	if names := ours(t, made.tag); len(names) > 0 {
		t.Fatalf("left behind: %v", names)
	}
}

// TestNewSweepsADeadRunsLeftovers: a run killed before its cleanup leaves
// a namespace and a bridge; the next run removes them, and leaves a live
// run's alone.
func TestNewSweepsADeadRunsLeftovers(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadTag := fmt.Sprintf("%x00", dead.Process.Pid)
	if err := ip("netns", "add", nsPrefix+deadTag+"-x"); err != nil {
		t.Fatal(err)
	}
	if err := ip("link", "add", bridgePrefix+deadTag, "type", "bridge"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ip("netns", "delete", nsPrefix+deadTag+"-x")
		_ = ip("link", "delete", bridgePrefix+deadTag)
	})
	live := New(t, "a")
	_ = New(t, "b")
	if names := ours(t, deadTag); len(names) > 0 {
		t.Fatalf("a dead run's leftovers survived: %v", names)
	}
	if names := ours(t, live.tag); len(names) == 0 {
		t.Fatal("a live run's objects were swept")
	}
}

// ours lists the namespaces and links whose names carry tag.
func ours(t *testing.T, tag string) []string {
	t.Helper()
	var found []string
	for _, args := range [][]string{{"netns", "list"}, {"-o", "link", "show"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(string(out)) {
			name, _, _ := strings.Cut(strings.TrimSuffix(f, ":"), "@")
			if strings.HasPrefix(name, nsPrefix+tag+"-") || name == bridgePrefix+tag || strings.HasPrefix(name, linkPrefix+tag) {
				found = append(found, name)
			}
		}
	}
	return found
}
