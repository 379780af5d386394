package runner

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRunnerLowersTheMonitorButNotTheDecodingThreads: once a runner has loaded, the Go runtime's monitor
// thread (the first thread after the main one) runs at nice 19, and every thread that works during a
// generation at two threads — llama.cpp's workers and the goroutine driving them — keeps the normal
// priority, or decoding would slow down whenever the CPUs are busy.
func TestRunnerLowersTheMonitorButNotTheDecodingThreads(t *testing.T) {
	base := serveRunner(t, Config{Threads: 2, Parallel: 1})
	before := threadStats(t)
	monitor := 0
	for tid := range before {
		if tid != os.Getpid() && (monitor == 0 || tid < monitor) {
			monitor = tid
		}
	}
	if got := before[monitor].nice; got != 19 {
		t.Fatalf("the monitor thread %d has nice %d after the runner loaded, want 19", monitor, got)
	}
	f := &fixture{base: base}
	var out struct {
		Timings struct {
			PredictedN int `json:"predicted_n"`
		} `json:"timings"`
	}
	f.postOK(t, "/completion", map[string]any{"prompt": "Once upon a time", "n_predict": 200, "ignore_eos": true}, &out)
	if out.Timings.PredictedN != 200 {
		t.Fatalf("generated %d tokens, want 200", out.Timings.PredictedN)
	}
	after := threadStats(t)
	busiest := 0
	for tid, s := range after {
		busiest = max(busiest, s.ticks-before[tid].ticks)
	}
	if busiest == 0 {
		t.Fatal("no thread used any CPU time during the generation")
	}
	for tid, s := range after {
		if used := s.ticks - before[tid].ticks; used*5 >= busiest && s.nice != 0 {
			t.Errorf("thread %d worked during the generation (%d of the busiest thread's %d ticks) at nice %d, want 0", tid, used, busiest, s.nice)
		}
	}
}

type threadStat struct{ nice, ticks int }

// threadStats reads each thread's niceness and CPU time (user plus system, in clock ticks) from
// /proc/self/task/<tid>/stat, whose fields are counted after the parenthesised command name.
func threadStats(t *testing.T) map[int]threadStat {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	stats := map[int]threadStat{}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/self/task/" + e.Name() + "/stat")
		if err != nil {
			continue // the thread is gone
		}
		fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		utime, _ := strconv.Atoi(fields[11])
		stime, _ := strconv.Atoi(fields[12])
		nice, _ := strconv.Atoi(fields[16])
		stats[tid] = threadStat{nice: nice, ticks: utime + stime}
	}
	return stats
}
