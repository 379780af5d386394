package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"custos/internal/config"
)

// standinPath is the stand-in backend built once for the process tests.
var standinPath string

// waitLimit bounds every wait for a condition; generous because the
// machines running the tests are shared and noisy.
const waitLimit = 20 * time.Second

// testClient is for the tests' own requests to a backend: a backend that
// stops answering fails the request instead of hanging the test.
var testClient = &http.Client{Timeout: waitLimit}

func TestMain(m *testing.M) {
	if os.Getenv(parentDeathHelperEnv) != "" {
		runParentDeathHelper()
		return
	}
	dir, err := os.MkdirTemp("", "supervisor-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	standinPath = filepath.Join(dir, "standin")
	if out, err := exec.Command("go", "build", "-o", standinPath, "custos/cmd/standin").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the stand-in backend: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// standinModel is a llama-server model run by the stand-in with flags, with
// durations small enough for tests.
func standinModel(flags ...string) config.Model {
	return config.Model{
		ID:                "tiny",
		Backend:           config.BackendLlamaServer,
		ModelPath:         "/models/tiny.gguf",
		Cmd:               []string{standinPath, "--host", "${HOST}", "--port", "${PORT}", "-m", "${MODEL}"},
		Args:              flags,
		ReadyTimeout:      10 * time.Second,
		HealthInterval:    50 * time.Millisecond,
		HealthTimeout:     500 * time.Millisecond,
		UnhealthyAfter:    3,
		RestartMax:        100,
		RestartBackoff:    20 * time.Millisecond,
		UnhealthyCooldown: time.Hour,
		StableAfter:       time.Hour,
		StopTimeout:       5 * time.Second,
		LogLines:          50,
	}
}

// history records every snapshot a backend publishes, so a test can look
// for a sequence of states without racing the run loop.
type history struct {
	mu    sync.Mutex
	snaps []Snapshot
}

func (h *history) add(s Snapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.snaps = append(h.snaps, s)
}

func (h *history) all() []Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Snapshot(nil), h.snaps...)
}

// await waits for a published snapshot at index from or later matching
// pred, and returns it with the index after it.
func (h *history) await(t *testing.T, from int, what string, pred func(Snapshot) bool) (Snapshot, int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		snaps := h.all()
		for i := from; i < len(snaps); i++ {
			if pred(snaps[i]) {
				return snaps[i], i + 1
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot with %s within %v; history:\n%s", what, waitLimit, describe(snaps))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func describe(snaps []Snapshot) string {
	var b strings.Builder
	for _, s := range snaps {
		fmt.Fprintf(&b, "  %-9s pid=%d progress=%.2f restarts=%d failures=%d last_exit=%q\n",
			s.State, s.PID, s.Progress, s.Restarts, s.ConsecutiveFailures, s.LastExit)
	}
	return b.String()
}

// runBackend starts m's run loop and stops it when the test ends.
func runBackend(t *testing.T, m config.Model) (*Backend, *history) {
	t.Helper()
	h := &history{}
	b := NewBackend(m, Options{Logger: testLogger(), OnChange: h.add})
	go b.Run(context.Background())
	t.Cleanup(func() { stopBackend(t, b) })
	return b, h
}

// stopBackend stops b, failing the test if that takes longer than waitLimit.
func stopBackend(t *testing.T, b *Backend) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// testLogger shows the supervisor's logs with SUPERVISOR_TEST_LOG=1; they
// go to stderr rather than t.Log because some are written after a test ends.
func testLogger() *slog.Logger {
	if os.Getenv("SUPERVISOR_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// processGone reports whether pid is gone or a zombie.
func processGone(pid int) bool {
	st, ok := readStat(pid)
	return !ok || st.state == 'Z'
}

// groupGone reports whether no live (non-zombie) process of group pgid is
// left. Zombies count as gone: they are dead, and who reaps an orphan is
// up to the machine's init.
func groupGone(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.pgrp == pgid && st.state != 'Z' {
			return false
		}
	}
	return true
}

// procStat is what the tests need of /proc/PID/stat.
type procStat struct {
	state byte
	pgrp  int
}

func readStat(pid int) (procStat, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	// The fields after the parenthesised command name: state ppid pgrp ...
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 3 {
		return procStat{}, false
	}
	pgrp, err := strconv.Atoi(fields[2])
	if err != nil {
		return procStat{}, false
	}
	return procStat{state: fields[0][0], pgrp: pgrp}, true
}

// eventually polls cond until it holds or waitLimit passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// parentDeathHelperEnv makes the test binary act as a tiny custos: it
// supervises a stand-in (path in the variable), prints the stand-in's pid
// once ready, and waits to be killed.
const parentDeathHelperEnv = "SUPERVISOR_TEST_PARENT_DEATH_STANDIN"

func runParentDeathHelper() {
	standinPath = os.Getenv(parentDeathHelperEnv)
	b := NewBackend(standinModel(), Options{Logger: testLogger()})
	go b.Run(context.Background())
	out := bufio.NewWriter(os.Stdout)
	for range time.Tick(5 * time.Millisecond) {
		if s := b.Snapshot(); s.State == StateReady {
			fmt.Fprintf(out, "%d\n", s.PID)
			out.Flush()
			break
		}
	}
	select {}
}
