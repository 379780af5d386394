package sysmon

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
)

// Lower reads which system call each thread is in this many times; sysmon must be seen in nanosleep in at
// least sysmonSightings of them, and every other thread in at most strayerSightings.
const (
	rounds           = 200
	sysmonSightings  = rounds / 2
	strayerSightings = rounds / 10
)

// Lower finds the runtime's monitor thread and sets its niceness to Nice, once per process; later calls
// return what the first one did. It returns the thread's id.
//
// sysmon is told apart by what it does: between its rounds it sleeps in nanosleep, for 20 µs to 10 ms,
// while the runtime's other idle threads wait on futexes or in epoll, and C threads (ggml's workers) on
// condition variables. A thread id says nothing: ids wrap around at the kernel's pid_max, 32,768 on many
// machines. Lower must be called from a running goroutine, so that sysmon is in its round-by-round sleep
// rather than parked until work arrives (the system calls Lower makes to read /proc wake it from that).
func Lower() (tid int, err error) { return lowerOnce() }

var lowerOnce = sync.OnceValues(lower)

func lower() (int, error) {
	startSpareThreads()
	tid, err := find()
	if err != nil {
		return 0, err
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, Nice); err != nil {
		return 0, fmt.Errorf("sysmon: setting thread %d to nice %d: %w", tid, Nice, err)
	}
	return tid, nil
}

// spareThreads is how many idle threads Lower leaves the runtime before lowering sysmon.
const spareThreads = 4

// startSpareThreads makes the runtime start spareThreads threads of normal priority and leaves them idle:
// a thread that sysmon starts itself inherits its niceness, and sysmon starts one only when it hands work
// to a thread and none is idle. Each goroutine locks its thread and waits, so that each needs a thread of
// its own; once all wait, they unlock and return, and the threads stay idle, as the runtime keeps them.
func startSpareThreads() {
	var started, release sync.WaitGroup
	started.Add(spareThreads)
	release.Add(1)
	var done sync.WaitGroup
	for range spareThreads {
		done.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			started.Done()
			release.Wait()
		})
	}
	started.Wait()
	release.Done()
	done.Wait()
}

// find returns the one thread that is nearly always in nanosleep.
func find() (int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("sysmon: listing the process's threads: %w", err)
	}
	sightings := map[int]int{}
	for range rounds {
		for _, e := range entries {
			if tid, err := strconv.Atoi(e.Name()); err == nil && inNanosleep(tid) {
				sightings[tid]++
			}
		}
	}
	best := 0
	for tid, n := range sightings {
		if best == 0 || n > sightings[best] {
			best = tid
		}
	}
	if sightings[best] < sysmonSightings {
		return 0, fmt.Errorf("%w: no thread was in nanosleep in %d of %d looks (at most %d)", ErrNotFound, sysmonSightings, rounds, sightings[best])
	}
	for tid, n := range sightings {
		if tid != best && n > strayerSightings {
			return 0, fmt.Errorf("%w: threads %d and %d were both in nanosleep (%d and %d of %d looks)", ErrNotFound, best, tid, sightings[best], n, rounds)
		}
	}
	return best, nil
}

var nanosleepCall = []byte(strconv.Itoa(syscall.SYS_NANOSLEEP) + " ")

// inNanosleep reports whether thread tid is inside the nanosleep system call: /proc/self/task/<tid>/syscall
// starts with the number of the call a blocked thread is in.
func inNanosleep(tid int) bool {
	data, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/syscall")
	return err == nil && bytes.HasPrefix(data, nanosleepCall)
}
