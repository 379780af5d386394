package sysmon

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// samples is how many times Lower reads the candidate's current system call before it gives up: sysmon
// spends nearly all its time in nanosleep while a goroutine runs, so one read almost always suffices.
const samples = 1000

// Lower finds the runtime's monitor thread and sets its niceness to Nice, once per process; later calls
// return what the first one did. It returns the thread's id.
//
// The runtime starts sysmon first, before any other thread but the main one, and Go never ends a thread it
// did not lock, so sysmon has the lowest thread id after the main thread's. Thread ids are only reused
// after the kernel's pid space wraps, so that thread is also checked to be sleeping in nanosleep, which
// sysmon calls between its rounds and the runtime's other idle threads do not (they wait on futexes or in
// epoll). Lower must be called from a running goroutine, so that sysmon is in its round-by-round sleep
// rather than parked on a futex until work arrives.
func Lower() (tid int, err error) { return lowerOnce() }

var lowerOnce = sync.OnceValues(lower)

func lower() (tid int, err error) {
	tid, err = candidate()
	if err != nil {
		return 0, err
	}
	if !inNanosleep(tid) {
		return 0, fmt.Errorf("%w: thread %d, the first one the runtime started, is not sleeping in nanosleep", ErrNotFound, tid)
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, Nice); err != nil {
		return 0, fmt.Errorf("sysmon: setting thread %d to nice %d: %w", tid, Nice, err)
	}
	return tid, nil
}

// candidate is the lowest thread id of this process after the main thread's.
func candidate() (int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("sysmon: listing the process's threads: %w", err)
	}
	pid, best := os.Getpid(), 0
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil || tid == pid {
			continue
		}
		if best == 0 || tid < best {
			best = tid
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("%w: the process has no thread but the main one", ErrNotFound)
	}
	return best, nil
}

// inNanosleep reports whether thread tid is seen inside the nanosleep system call in one of samples reads
// of /proc/self/task/<tid>/syscall (whose first field is the number of the call the thread is blocked in).
func inNanosleep(tid int) bool {
	path := "/proc/self/task/" + strconv.Itoa(tid) + "/syscall"
	want := []byte(strconv.Itoa(syscall.SYS_NANOSLEEP) + " ")
	for range samples {
		data, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		if bytes.HasPrefix(data, want) {
			return true
		}
	}
	return false
}
