package livestats

import (
	"sync"
	"testing"
	"time"
)

// clock is a settable time for the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var t0 = time.Unix(1_800_000_000, 0)

func TestASecondCountsRequestsErrorsTokensAndTheMedianTTFB(t *testing.T) {
	c := &clock{t: t0}
	s := newAt([]string{"a", "b"}, c.now)
	c.set(t0.Add(100 * time.Millisecond))
	s.Record("a", Outcome{Status: 200, TTFB: 10 * time.Millisecond, Tokens: 5})
	s.Record("a", Outcome{Status: 200, TTFB: 30 * time.Millisecond, Tokens: 7})
	s.Record("a", Outcome{Status: 503})                                                 // refused by custos: no first byte
	s.Record("a", Outcome{Status: 200, TTFB: 20 * time.Millisecond, Interrupted: true}) // broke off
	s.Record("nobody", Outcome{Status: 200})
	c.set(t0.Add(1100 * time.Millisecond))
	p := s.Point(t0.Unix())
	a := p.Models["a"]
	if a.Requests != 4 || a.Errors != 2 || a.TokensPerSecond != 12 || a.TTFBMillis == nil || *a.TTFBMillis != 20 {
		t.Fatalf("a: got %+v (ttfb %v), want 4 requests, 2 errors, 12 tokens/s, median 20 ms", a, deref(a.TTFBMillis))
	}
	if b := p.Models["b"]; b.Requests != 0 || b.TTFBMillis != nil {
		t.Fatalf("b had no request: got %+v", b)
	}
	if len(p.Models) != 2 {
		t.Fatalf("models: got %v, want a and b", p.Models)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestTheMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo(t *testing.T) {
	c := &clock{t: t0}
	s := newAt([]string{"a"}, c.now)
	for _, ms := range []int{40, 10, 30, 20} {
		s.Record("a", Outcome{Status: 200, TTFB: time.Duration(ms) * time.Millisecond})
	}
	c.set(t0.Add(time.Second))
	if got := s.Point(t0.Unix()).Models["a"].TTFBMillis; got == nil || *got != 25 {
		t.Fatalf("median: got %v, want 25", deref(got))
	}
}

// A busy second keeps maxSamples times, chosen uniformly: the median of a
// uniform spread stays near its middle.
func TestABusySecondKeepsABoundedSample(t *testing.T) {
	c := &clock{t: t0}
	s := newAt([]string{"a"}, c.now)
	const n = 10_000
	for i := range n {
		s.Record("a", Outcome{Status: 200, TTFB: time.Duration(i+1) * time.Microsecond})
	}
	c.set(t0.Add(time.Second))
	f := s.Point(t0.Unix()).Models["a"]
	if f.Requests != n || f.TTFBMillis == nil {
		t.Fatalf("got %+v", f)
	}
	if m := *f.TTFBMillis; m < 3.5 || m > 6.5 {
		t.Fatalf("median of 1..10000 µs sampled: got %v ms, want near 5", m)
	}
}

// Seconds older than the window are forgotten, and seconds before the
// stats began are not reported.
func TestHistoryIsTheLastWindowOfSeconds(t *testing.T) {
	c := &clock{t: t0}
	s := newAt([]string{"a"}, c.now)
	if h := s.History(t0.Unix() - 1); len(h.Points) != 0 || h.IntervalSeconds != 1 {
		t.Fatalf("before the start: got %d points", len(h.Points))
	}
	for i := range Window + 5 {
		c.set(t0.Add(time.Duration(i) * time.Second))
		s.Record("a", Outcome{Status: 200, Tokens: i})
	}
	last := t0.Unix() + Window + 4
	c.set(time.Unix(last+1, 0))
	h := s.History(last)
	if len(h.Points) != Window || h.Points[0].T != last-Window+1 || h.Points[Window-1].T != last {
		t.Fatalf("got %d points from %d to %d, want %d from %d to %d", len(h.Points), h.Points[0].T, h.Points[len(h.Points)-1].T, Window, last-Window+1, last)
	}
	for _, p := range h.Points {
		if want := float64(p.T - t0.Unix()); p.Models["a"].TokensPerSecond != want || p.Models["a"].Requests != 1 {
			t.Fatalf("second %d: got %+v, want 1 request and %v tokens", p.T, p.Models["a"], want)
		}
	}
	// A second the ring has reused reports nothing of the old one.
	if f := s.Point(t0.Unix() + 2); f.Models["a"].Requests != 0 {
		t.Fatalf("a second past the window: got %+v", f.Models["a"])
	}
}

// Idle seconds in between report zeros, not an older second's figures.
func TestAnIdleSecondIsZero(t *testing.T) {
	c := &clock{t: t0}
	s := newAt([]string{"a"}, c.now)
	s.Record("a", Outcome{Status: 200})
	c.set(t0.Add(3 * time.Second))
	for sec, want := range map[int64]int{t0.Unix(): 1, t0.Unix() + 1: 0, t0.Unix() + 2: 0} {
		if got := s.Point(sec).Models["a"].Requests; got != want {
			t.Errorf("second %d: got %d requests, want %d", sec, got, want)
		}
	}
}

func TestRecordAllocatesNothing(t *testing.T) {
	s := New([]string{"a"})
	if n := testing.AllocsPerRun(1000, func() { s.Record("a", Outcome{Status: 200, TTFB: time.Millisecond, Tokens: 3}) }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}

func TestConcurrentRecordsAndReads(t *testing.T) {
	s := New([]string{"a"})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				s.Record("a", Outcome{Status: 200, TTFB: time.Millisecond})
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			_ = s.History(time.Now().Unix() - 1)
		}
	})
	wg.Wait()
}

func BenchmarkRecord(b *testing.B) {
	s := New([]string{"a"})
	b.ReportAllocs()
	for b.Loop() {
		s.Record("a", Outcome{Status: 200, TTFB: time.Millisecond, Tokens: 3})
	}
}
