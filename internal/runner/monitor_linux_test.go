package runner

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunnerLowersTheMonitorButNotTheDecodingThreads: once a runner process has loaded, one of its threads —
// the Go runtime's monitor — runs at nice 19, and every other thread that works during a generation at two
// threads — llama.cpp's workers and the goroutine driving them — keeps the normal priority, or decoding
// would slow down whenever the CPUs are busy.
func TestRunnerLowersTheMonitorButNotTheDecodingThreads(t *testing.T) {
	pid, base := startChildRunner(t, 2)
	// The scheduler goroutine lowers the monitor as it starts, which may be after the runner says it is ready.
	var before map[int]threadStat
	var lowered []int
	for deadline := time.Now().Add(waitLimit); ; time.Sleep(10 * time.Millisecond) {
		before, lowered = threadStats(t, pid), nil
		for tid, s := range before {
			if s.nice == 19 {
				lowered = append(lowered, tid)
			}
		}
		if len(lowered) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads at nice 19 %v after the runner loaded, want exactly one, the monitor", lowered)
		}
	}
	f := &fixture{base: base}
	var out struct {
		Timings struct {
			PredictedN int `json:"predicted_n"`
		} `json:"timings"`
	}
	f.postOK(t, "/completion", map[string]any{"prompt": "Once upon a time", "n_predict": 1000, "ignore_eos": true}, &out)
	if out.Timings.PredictedN != 1000 {
		t.Fatalf("generated %d tokens, want 1000", out.Timings.PredictedN)
	}
	after := threadStats(t, pid)
	busiest := 0
	for tid, s := range after {
		busiest = max(busiest, s.ticks-before[tid].ticks)
	}
	if busiest < 10 {
		t.Fatalf("the busiest thread used %d ticks of CPU during the generation, too few to tell the decoding threads", busiest)
	}
	for tid, s := range after {
		if used := s.ticks - before[tid].ticks; tid != lowered[0] && used*5 >= busiest && s.nice != 0 {
			t.Errorf("thread %d worked during the generation (%d of the busiest thread's %d ticks) at nice %d, want 0", tid, used, busiest, s.nice)
		}
	}
}

type threadStat struct{ nice, ticks int }

// threadStats reads the niceness and CPU time (user plus system, in clock ticks) of each thread of process
// pid from /proc/<pid>/task/<tid>/stat, whose fields are counted after the parenthesised command name.
func threadStats(t *testing.T, pid int) map[int]threadStat {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	stats := map[int]threadStat{}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(dir + e.Name() + "/stat")
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
