package intervention

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkResumeReleases1000Waiters measures the time from Resume to the
// moment all 1,000 held requests have been let through, and what each
// held request costs in heap (the controller's waiter) and stack (the
// goroutine a held request already has in the HTTP server).
// A held request is a goroutine waiting on the published state's channel:
// the controller keeps no list of them.
func BenchmarkResumeReleases1000Waiters(b *testing.B) {
	const n = 1000
	c := New(Config{Enabled: true, MaxPause: time.Hour, WaitTimeout: time.Hour}, nil, State{}, quiet)
	defer c.Close()
	var heapPerWaiter, stackPerWaiter float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		_, _ = c.Pause(context.Background(), GlobalScope, "bench", ActorAdmin)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		wg.Add(n)
		for range n {
			go func() {
				defer wg.Done()
				_ = c.Wait(context.Background(), "tiny", Hold{})
			}()
		}
		for c.Counters().RequestsWaiting != n {
			runtime.Gosched()
		}
		runtime.ReadMemStats(&after)
		heapPerWaiter = float64(after.HeapAlloc-before.HeapAlloc) / n
		stackPerWaiter = float64(after.StackInuse-before.StackInuse) / n
		b.StartTimer()
		_, _ = c.Resume(context.Background(), GlobalScope, ActorAdmin)
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/release-1000")
	b.ReportMetric(heapPerWaiter, "heap-B/waiter")
	b.ReportMetric(stackPerWaiter, "stack-B/waiter")
}
