// Package livestats keeps the figures the dashboard charts — requests,
// errors, time to first byte and tokens per second, per model and per
// second, over the last ten minutes — in custos itself, so a page needs no
// Prometheus server to show them. The gateway records each request as it
// ends; readers take whole past seconds. Memory is fixed: a ring of
// per-second summaries per model, and the samples of the second being
// counted.
package livestats

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Window is how many seconds of history are kept.
const Window = 600

// maxSamples bounds the times to first byte kept for one second's median;
// past it, a uniform sample of them is kept (reservoir sampling).
const maxSamples = 128

// Outcome is one request as it ended.
type Outcome struct {
	// Status is the HTTP status the client got.
	Status int
	// Interrupted: the answer began and broke off.
	Interrupted bool
	// TTFB is the time from the request's arrival to its first byte sent,
	// 0 when no backend's answer reached the client (custos refused it).
	TTFB time.Duration
	// Tokens are the completion tokens of the answer (0: none, or unknown).
	Tokens int
}

// Failed reports whether the outcome counts as an error: any status but
// 2xx and 3xx (custos's refusals, a backend's errors, a client that went
// away), or an answer that broke off.
func (o Outcome) Failed() bool { return o.Interrupted || o.Status < 200 || o.Status >= 400 }

// Figures are one model's figures over one whole second.
type Figures struct {
	Requests int `json:"requests"`
	Errors   int `json:"errors"`
	// TTFBMillis is the median time to first byte of the requests that
	// ended in the second and got one; null when none did.
	TTFBMillis *float64 `json:"ttfb_ms"`
	// TokensPerSecond are the completion tokens of the requests that ended
	// in the second.
	TokensPerSecond float64 `json:"tokens_per_s"`
}

// Point is every model's figures for the second that began at T (unix
// seconds); a model with no request in it has zeros.
type Point struct {
	T      int64              `json:"t"`
	Models map[string]Figures `json:"models"`
}

// History is the points of the last Window seconds, oldest first.
type History struct {
	IntervalSeconds int     `json:"interval_s"`
	Points          []Point `json:"points"`
}

// Stats holds the figures of a fixed set of models.
type Stats struct {
	now     func() time.Time
	since   int64 // the first second counted
	ids     []string
	byModel map[string]*series
}

// New returns the figures of the models ids, counted from now.
func New(ids []string) *Stats { return newAt(ids, time.Now) }

func newAt(ids []string, now func() time.Time) *Stats {
	s := &Stats{now: now, since: now().Unix(), ids: slices.Clone(ids), byModel: make(map[string]*series, len(ids))}
	for _, id := range ids {
		s.byModel[id] = &series{}
	}
	return s
}

// Record counts one request of model that ended now. An unknown model is
// not counted. It takes one uncontended lock per model and allocates
// nothing.
func (s *Stats) Record(model string, o Outcome) {
	if sr := s.byModel[model]; sr != nil {
		sr.record(s.now, o)
	}
}

// Point returns the figures of second t, which must have ended: a second
// still being counted would show part of its requests.
func (s *Stats) Point(t int64) Point {
	p := Point{T: t, Models: make(map[string]Figures, len(s.ids))}
	now := s.now().Unix()
	for _, id := range s.ids {
		p.Models[id] = s.byModel[id].figures(t, now)
	}
	return p
}

// History returns the points of the seconds up to and including until,
// at most Window of them and none before the Stats began.
func (s *Stats) History(until int64) History {
	from := max(until-Window+1, s.since)
	h := History{IntervalSeconds: 1, Points: make([]Point, 0, max(until-from+1, 0))}
	for t := from; t <= until; t++ {
		h.Points = append(h.Points, s.Point(t))
	}
	return h
}

// series is one model's seconds.
type series struct {
	mu   sync.Mutex
	cur  counting
	past [Window]summary // by second modulo Window
}

// summary is one whole second.
type summary struct {
	sec              int64
	requests, errors int
	tokens           int64
	ttfbMicros       uint32
	hasTTFB          bool
}

// counting is the second being counted.
type counting struct {
	summary
	seen    int // answers with a time to first byte
	samples [maxSamples]uint32
	rng     uint64
}

func (sr *series) record(now func() time.Time, o Outcome) {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	// The clock is read under the lock, so seconds arrive in order (a
	// wall clock stepped back counts into the current one).
	sr.roll(now().Unix())
	c := &sr.cur
	c.requests++
	if o.Failed() {
		c.errors++
	}
	c.tokens += int64(o.Tokens)
	if o.TTFB > 0 {
		c.sample(uint32(min(o.TTFB.Microseconds(), math.MaxUint32)))
	}
}

// roll makes sec the second being counted, summarising the one before.
func (sr *series) roll(sec int64) {
	if sec <= sr.cur.sec {
		return
	}
	if sr.cur.sec != 0 {
		sr.past[sr.cur.sec%Window] = sr.cur.summarise()
	}
	sr.cur.summary = summary{sec: sec}
	sr.cur.seen = 0
}

func (sr *series) figures(t, now int64) Figures {
	sr.mu.Lock()
	sr.roll(now)
	s := sr.past[((t%Window)+Window)%Window]
	sr.mu.Unlock()
	if s.sec != t {
		return Figures{}
	}
	f := Figures{Requests: s.requests, Errors: s.errors, TokensPerSecond: float64(s.tokens)}
	if s.hasTTFB {
		ms := float64(s.ttfbMicros) / 1000
		f.TTFBMillis = &ms
	}
	return f
}

// sample keeps a time to first byte: all of them up to maxSamples, then
// each new one replaces a kept one with the probability that keeps the
// sample uniform.
func (c *counting) sample(micros uint32) {
	c.seen++
	if c.seen <= maxSamples {
		c.samples[c.seen-1] = micros
		return
	}
	if j := c.random(uint64(c.seen)); j < maxSamples {
		c.samples[j] = micros
	}
}

// random returns a number in [0, n) (xorshift: cheap, and good enough to
// choose samples).
func (c *counting) random(n uint64) uint64 {
	if c.rng == 0 {
		c.rng = 0x9E3779B97F4A7C15
	}
	c.rng ^= c.rng << 13
	c.rng ^= c.rng >> 7
	c.rng ^= c.rng << 17
	return c.rng % n
}

// summarise computes the second's median time to first byte.
func (c *counting) summarise() summary {
	s := c.summary
	n := min(c.seen, maxSamples)
	if n == 0 {
		return s
	}
	kept := c.samples[:n]
	slices.Sort(kept)
	if n%2 == 1 {
		s.ttfbMicros = kept[n/2]
	} else {
		s.ttfbMicros = uint32((uint64(kept[n/2-1]) + uint64(kept[n/2])) / 2)
	}
	s.hasTTFB = true
	return s
}
