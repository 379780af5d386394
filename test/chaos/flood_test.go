package chaos

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/proctest"
)

const (
	floodSize = 200
	// rssGrowthBound is generous: the check is for a leak that grows with
	// every flood, not for an allocator's ordinary swings.
	rssGrowthBound = 50 << 20
)

// rss reads a process's resident set size from /proc.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// TestFloodPastQueueMax sends waves of 200 concurrent requests at a model
// that serves one at a time with 8 queue places, for the scenario's
// duration. The overflow must get 429 with Retry-After, nothing may get
// any other error, a request after the flood must succeed, and custos's
// resident memory must not grow by more than a generous bound.
func TestFloodPastQueueMax(t *testing.T) {
	duration := chaosDuration(t)
	cfg := "models:\n  tiny:\n    backend: llama-server\n    cmd: " + standinCmd("--response-delay", "200ms") +
		"\n    max_concurrency: 1\n    queue_max: 8\n    restart_backoff: 50ms\n    ready_timeout: 10s\n    stop_timeout: 2s\n"
	c := startCustos(t, writeConfig(t, t.TempDir(), cfg))
	c.waitState("tiny", "ready", 20*time.Second)
	cl := newClient(60 * time.Second)
	defer cl.close()
	if r := cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 16, false)); r.Status != 200 {
		t.Fatalf("before the flood: %s", r)
	}
	before := rss(t, c.Cmd.Process.Pid)

	ta := &tally{}
	var rejected atomic.Int64
	waves := 0
	for until := time.Now().Add(duration); waves == 0 || time.Now().Before(until); waves++ {
		var wg sync.WaitGroup
		for range floodSize {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 16, false))
				switch {
				case r.Err == nil && r.Status == 429:
					ta.sent.Add(1)
					if r.Header.Get("Retry-After") == "" {
						ta.fail("429 without Retry-After: " + r.String())
						return
					}
					rejected.Add(1)
				default:
					judgeChat(ta, r)
				}
			}()
		}
		proctest.Receive(t, fmt.Sprintf("the %d requests of wave %d", floodSize, waves+1), cl.http.Timeout+30*time.Second, proctest.Done(&wg))
	}
	if r := cl.post(context.Background(), c.URL("/v1/chat/completions"), chatBody("tiny", 16, false)); r.Status != 200 {
		t.Fatalf("after the flood: %s", r)
	}
	after := rss(t, c.Cmd.Process.Pid)
	report(t, ta, c.retries(), fmt.Sprintf("%d waves of %d; %d × 429 with Retry-After; RSS %.1f → %.1f MB",
		waves, floodSize, rejected.Load(), float64(before)/(1<<20), float64(after)/(1<<20)))
	if ta.failed.Load() != 0 {
		t.Fatalf("%d requests failed, e.g. %q", ta.failed.Load(), ta.failures())
	}
	if rejected.Load() == 0 {
		t.Fatal("no request was turned away: the flood never passed queue_max")
	}
	if after-before > rssGrowthBound {
		t.Fatalf("custos's RSS grew from %d to %d bytes over the flood", before, after)
	}
}
