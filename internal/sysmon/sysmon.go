// Package sysmon keeps the Go runtime's monitor thread from preempting llama.cpp's decoding threads.
//
// The runtime's sysmon thread takes back the P of a goroutine that has spent 10 ms in one foreign call, or
// run 10 ms without yielding, and each time it does so it goes back to waking every 20 µs for the next
// millisecond before it slows down again. The runner's scheduler goroutine spends most of its time inside
// llama_decode, so sysmon does this at about every step: some 60 wakeups a step, 2,000 to 3,000 a second.
// When the decoding threads fill every CPU (-t 2 on two cores), each wakeup preempts one of them, and the
// others wait for it at ggml's next barrier: four streams of a 231 MB model decoded 5–10 % slower than
// llama-server, whose threads are not interrupted (docs/BENCHMARKS.md).
//
// Lower gives sysmon the lowest priority (nice 19), so that it runs when a CPU has time for it instead of
// at once; its work (retaking Ps, forcing a GC every two minutes, polling the network when every P is busy)
// is measured in milliseconds and does not suffer from waiting. A thread that sysmon itself starts later
// inherits that priority, so Lower first leaves the runtime idle threads to hand work to, and the runner
// calls it once the threads that decode exist and the goroutine that drives them is locked to its own.
package sysmon

import "errors"

// Nice is the niceness Lower gives the monitor thread: the lowest priority.
const Nice = 19

// ErrNotFound is returned when the monitor thread cannot be told apart from the process's other threads
// with certainty; Lower then changes nothing.
var ErrNotFound = errors.New("sysmon: the runtime's monitor thread was not identified")
