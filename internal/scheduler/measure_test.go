package scheduler

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"custos/internal/supervisor"
)

// measuredSink hears the scheduler's measurements.
type measuredSink struct{ got chan int64 }

func (measuredSink) Loading(string)                 {}
func (measuredSink) Loaded(string, time.Duration)   {}
func (measuredSink) Unloading(string, string)       {}
func (measuredSink) WaitedForLoad(string)           {}
func (m measuredSink) Measured(_ string, rss int64) { m.got <- rss }

// A new measurement of a loaded model's memory is told to an observer
// that listens for it, so the live view shows it without polling.
func TestAMeasurementIsToldToAMeasureObserver(t *testing.T) {
	child := exec.Command("sleep", "60")
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := child.Start(); err != nil {
		t.Fatalf("starting a process to measure: %v", err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	b := newFake(supervisor.StateReady, false)
	b.snap.PID = child.Process.Pid
	sink := measuredSink{got: make(chan int64, 16)}
	s := New(Budget{}, []Model{{ID: "a", Startup: true, Backend: b}}, sink, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	select {
	case rss := <-sink.got:
		if in, _ := s.Info("a"); rss <= 0 || in.Resident != rss {
			t.Fatalf("told %d bytes, Info says %d", rss, in.Resident)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no measurement told within 10s (measured every %v)", measureInterval)
	}
}
