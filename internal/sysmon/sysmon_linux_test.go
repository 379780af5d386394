package sysmon

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestLowerFindsTheThreadThatWakesDuringLongCalls identifies sysmon by what it does, not by where it is:
// while one goroutine spins and another sits in 30 ms system calls, the runtime's monitor is the thread
// that keeps waking up. Lower must pick that thread, and leave it, and only it, at Nice.
func TestLowerFindsTheThreadThatWakesDuringLongCalls(t *testing.T) {
	woken := wakeupsDuring(t, func() {
		for range 10 {
			ts := syscall.Timespec{Nsec: int64(30 * time.Millisecond)}
			syscall.Syscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
		}
	})
	busiest := 0
	for tid, n := range woken {
		if busiest == 0 || n > woken[busiest] {
			busiest = tid
		}
	}
	if woken[busiest] < 20 {
		t.Fatalf("no thread woke up more than %d times during 300 ms of long system calls: %v", woken[busiest], woken)
	}
	tid, err := Lower()
	if err != nil {
		t.Fatalf("Lower: %v", err)
	}
	if tid != busiest {
		t.Fatalf("Lower chose thread %d, but thread %d is the one that woke up %d times (all: %v)", tid, busiest, woken[busiest], woken)
	}
	for id := range threadIDs(t) {
		want := 0
		if id == tid {
			want = Nice
		}
		if got := niceOf(t, id); got != want {
			t.Errorf("thread %d has nice %d, want %d", id, got, want)
		}
	}
}

// wakeupsDuring runs f while another goroutine spins (so that a P is always running and sysmon never
// parks), and returns how many voluntary context switches each thread made meanwhile.
func wakeupsDuring(t *testing.T, f func()) map[int]int {
	t.Helper()
	var stop atomic.Bool
	spinning := make(chan struct{})
	go func() {
		close(spinning)
		for !stop.Load() {
		}
	}()
	<-spinning
	before := voluntarySwitches(t)
	f()
	after := voluntarySwitches(t)
	stop.Store(true)
	woken := map[int]int{}
	for tid, n := range after {
		woken[tid] = n - before[tid]
	}
	return woken
}

func threadIDs(t *testing.T) map[int]bool {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	for _, e := range entries {
		if id, err := strconv.Atoi(e.Name()); err == nil {
			ids[id] = true
		}
	}
	return ids
}

func voluntarySwitches(t *testing.T) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for tid := range threadIDs(t) {
		data, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/status")
		if err != nil {
			continue // the thread is gone
		}
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				counts[tid], _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
	}
	return counts
}

// niceOf reads a thread's niceness: field 19 of /proc/self/task/<tid>/stat, counted after the
// parenthesised command name, which may itself hold spaces.
func niceOf(t *testing.T, tid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	nice, err := strconv.Atoi(fields[16]) // fields[0] is field 3, the state
	if err != nil {
		t.Fatalf("thread %d: nice field %q: %v", tid, fields[16], err)
	}
	return nice
}
