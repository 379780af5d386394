package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A backend that ignores SIGTERM, with a child that ignores it too, is
// SIGKILLed after StopTimeout, and nothing of its process group survives.
func TestStopEscalatesToSIGKILLForTheWholeGroup(t *testing.T) {
	m := standinModel()
	m.Cmd = []string{"/bin/sh", "-c", fmt.Sprintf("trap '' TERM; sleep 1000 & exec %s --host ${HOST} --port ${PORT} --ignore-sigterm", standinPath)}
	m.StopTimeout = 300 * time.Millisecond
	b, h := runBackend(t, m)

	ready, _ := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	s := b.Snapshot()
	if s.State != StateStopped || s.LastExit != "signal: killed" || s.PID != 0 {
		t.Fatalf("after Stop: %+v", s)
	}
	eventually(t, "the stopped backend's process group to be gone", func() bool { return groupGone(ready.PID) })
}

func TestStopIsGracefulAndIdempotent(t *testing.T) {
	b, h := runBackend(t, standinModel())
	h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for range 2 {
		if err := b.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
	}
	if s := b.Snapshot(); s.State != StateStopped || s.LastExit != "exit status 0" {
		t.Fatalf("after Stop: %+v", s)
	}
}

func TestStopBeforeRunStartsNothing(t *testing.T) {
	h := &history{}
	b := NewBackend(standinModel(), Options{Logger: testLogger(), OnChange: h.add})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatalf("Stop before Run: %v", err)
	}
	done := make(chan struct{})
	go func() {
		b.Run(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Run after Stop did not return")
	}
	for _, s := range h.all() {
		if s.PID != 0 || s.State != StateStopped {
			t.Fatalf("a stopped backend started: %+v", s)
		}
	}
	if err := b.Stop(ctx); err != nil {
		t.Fatalf("Stop after Run: %v", err)
	}
}

func TestContextEndStopsTheBackend(t *testing.T) {
	h := &history{}
	b := NewBackend(standinModel(), Options{Logger: testLogger(), OnChange: h.add})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		b.Run(ctx)
		close(done)
	}()
	ready, _ := h.await(t, 0, "ready", func(s Snapshot) bool { return s.State == StateReady })
	cancel()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after its context ended")
	}
	if s := b.Snapshot(); s.State != StateStopped || !processGone(ready.PID) {
		t.Fatalf("after the context ended: %+v", s)
	}
}

// The backend dies with custos even when custos is SIGKILLed and cannot
// stop it: the parent-death signal.
func TestBackendDiesWithItsParent(t *testing.T) {
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), parentDeathHelperEnv+"="+standinPath)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		helper.Process.Kill()
		helper.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	var pid int
	select {
	case line := <-lines:
		if pid, err = strconv.Atoi(strings.TrimSpace(line)); err != nil {
			t.Fatalf("helper printed %q: %v", line, err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the helper's backend never became ready")
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the orphaned backend to die", func() bool { return processGone(pid) })
}
