package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/config"
	"custos/internal/intervention"
	"custos/internal/supervisor"
)

func pausable(f *fixture, waitTimeout time.Duration) *intervention.Controller {
	c := intervention.New(intervention.Config{Enabled: true, MaxPause: time.Hour, WaitTimeout: waitTimeout}, nil,
		intervention.State{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.gw.pause = c
	return c
}

func TestPausedRequestWaitsAndResumes(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	c := pausable(f, time.Minute)
	defer c.Close()
	_, _ = c.Pause(context.Background(), "tiny", "maintenance", intervention.ActorAdmin)
	done := make(chan answer, 1)
	go func() { done <- f.post("/v1/chat/completions", chatBody) }()
	waitFor(t, "the request to wait", func() bool { return c.Counters().RequestsWaiting == 1 })
	_, _ = c.Resume(context.Background(), "tiny", intervention.ActorAdmin)
	if a := receive(t, done, "the released request's answer"); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

func TestPausedRequestTimesOutWith503(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	c := pausable(f, 20*time.Millisecond)
	defer c.Close()
	_, _ = c.Pause(context.Background(), intervention.GlobalScope, "investigating", intervention.ActorAdmin)
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 503 || !strings.Contains(a.body, "inference_paused") || !strings.Contains(a.body, "investigating") || a.header.Get("Retry-After") == "" {
		t.Fatalf("got %d %v %s", a.status, a.header, a.body)
	}
}

// A pause of one model must not lift another model's queue limit: its
// requests still get 429 when its queue is full.
func TestPauseOfAnotherModelKeepsThisQueueBounded(t *testing.T) {
	var wg sync.WaitGroup
	defer wg.Wait()
	hold := make(chan struct{})
	defer close(hold)
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hold; ok(w, r) }),
		func(c *config.Config) { c.Models[0].MaxConcurrency = 1; c.Models[0].QueueMax = 1 })
	c := pausable(f, time.Minute)
	defer c.Close()
	_, _ = c.Pause(context.Background(), "other", "maintenance", intervention.ActorAdmin)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); f.post("/v1/chat/completions", chatBody) }()
	}
	waitFor(t, "one in flight, one queued", func() bool { l := f.gw.Load("tiny"); return l.InFlight == 1 && l.Queued == 1 })
	third := make(chan answer, 1)
	wg.Add(1)
	go func() { defer wg.Done(); third <- f.post("/v1/chat/completions", chatBody) }()
	var a answer
	waitFor(t, "the third request to be answered or queued", func() bool {
		select {
		case a = <-third:
			return true
		default:
			return f.gw.Load("tiny").Queued > 1
		}
	})
	if a.status != 429 || !strings.Contains(a.body, "queue_full") {
		t.Fatalf("got %d %s (queued: %d), want 429 queue_full", a.status, a.body, f.gw.Load("tiny").Queued)
	}
}

// On resume, held requests reach the backend in the order they arrived,
// and never more at once than the model's concurrency limit.
func TestResumeReleasesInArrivalOrderWithinTheLimit(t *testing.T) {
	const held = 6
	var (
		mu             sync.Mutex
		order          []string
		inFlight, most int
	)
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		order = append(order, req.Messages[0].Content)
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(time.Millisecond) // let a limit breach show
		mu.Lock()
		inFlight--
		mu.Unlock()
		ok(w, r)
	}), func(c *config.Config) { c.Models[0].MaxConcurrency = 1; c.Models[0].QueueMax = 1 })
	c := pausable(f, time.Minute)
	defer c.Close()
	_, _ = c.Pause(context.Background(), "tiny", "maintenance", intervention.ActorAdmin)
	answers := make(chan answer, held)
	for i := range held {
		go func() {
			answers <- f.post("/v1/chat/completions", fmt.Sprintf(`{"model":"tiny","messages":[{"role":"user","content":"r%d"}]}`, i))
		}()
		waitFor(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == int64(i+1) })
	}
	_, _ = c.Resume(context.Background(), "tiny", intervention.ActorAdmin)
	for range held {
		if a := receive(t, answers, "a held request's answer"); a.status != 200 {
			t.Fatalf("a held request got %d %s", a.status, a.body)
		}
	}
	want := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	if !slices.Equal(order, want) || most != 1 {
		t.Fatalf("backend saw %v with up to %d at once; want %v one at a time", order, most, want)
	}
}

// A request already waiting in line for a slot when a pause begins is held
// by the pause too: the slot freed during the pause is not given to it,
// and after the resume it is served before one that arrived later.
func TestPauseHoldsARequestAlreadyInLine(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		order = append(order, req.Messages[0].Content)
		mu.Unlock()
		if req.Messages[0].Content == "first" {
			<-release
		}
		ok(w, r)
	}), func(c *config.Config) { c.Models[0].MaxConcurrency = 1 })
	c := pausable(f, time.Minute)
	defer c.Close()
	body := func(s string) string { return `{"model":"tiny","messages":[{"role":"user","content":"` + s + `"}]}` }
	answers := make(chan answer, 3)
	go func() { answers <- f.post("/v1/chat/completions", body("first")) }()
	waitFor(t, "the first request in flight", func() bool { return f.gw.Load("tiny").InFlight == 1 })
	go func() { answers <- f.post("/v1/chat/completions", body("queued")) }()
	waitFor(t, "the second request in line", func() bool { return f.gw.Load("tiny").Queued == 1 })

	_, _ = c.Pause(context.Background(), "tiny", "maintenance", intervention.ActorAdmin)
	close(release)
	if a := receive(t, answers, "the first answer"); a.status != 200 {
		t.Fatalf("the request in flight: %d %s", a.status, a.body)
	}
	waitFor(t, "the request in line to be held by the pause", func() bool { return c.Counters().RequestsWaiting == 1 })
	go func() { answers <- f.post("/v1/chat/completions", body("later")) }()
	waitFor(t, "the later request to be held", func() bool { return c.Counters().RequestsWaiting == 2 })
	mu.Lock()
	seenDuringPause := slices.Clone(order)
	mu.Unlock()
	if !slices.Equal(seenDuringPause, []string{"first"}) {
		t.Fatalf("during the pause the backend saw %v; a request waiting in line was dispatched", seenDuringPause)
	}
	_, _ = c.Resume(context.Background(), "tiny", intervention.ActorAdmin)
	for range 2 {
		if a := receive(t, answers, "a released request's answer"); a.status != 200 {
			t.Fatalf("a released request: %d %s", a.status, a.body)
		}
	}
	if !slices.Equal(order, []string{"first", "queued", "later"}) {
		t.Fatalf("backend saw %v; the request in line must keep its place", order)
	}
}

// A request that has its slot but waits for its backend to be ready when
// a pause begins has not reached the backend: the pause holds it.
func TestPauseHoldsARequestWaitingForItsBackend(t *testing.T) {
	var served atomic.Int32
	f := newFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1); ok(w, r) }), nil)
	c := pausable(f, time.Minute)
	defer c.Close()
	url := f.upstream.snap.URL
	f.upstream.set(func(s *supervisor.Snapshot) { s.State, s.URL = supervisor.StateLoading, "" })
	done := make(chan answer, 1)
	go func() { done <- f.post("/v1/chat/completions", chatBody) }()
	waitFor(t, "the request to hold a slot", func() bool { return f.gw.Load("tiny").InFlight == 1 })
	_, _ = c.Pause(context.Background(), intervention.GlobalScope, "maintenance", intervention.ActorAdmin)
	// Held while its backend is still loading, not only once it is ready.
	waitFor(t, "the request to be held by the pause while its backend loads", func() bool { return c.Counters().RequestsWaiting == 1 })
	f.upstream.set(func(s *supervisor.Snapshot) { s.State, s.URL = supervisor.StateReady, url })
	if n := served.Load(); n != 0 {
		t.Fatalf("the backend got %d requests during the pause", n)
	}
	_, _ = c.Resume(context.Background(), intervention.GlobalScope, intervention.ActorAdmin)
	if a := receive(t, done, "the answer"); a.status != 200 || served.Load() != 1 {
		t.Fatalf("after the resume: %d %s (backend served %d)", a.status, a.body, served.Load())
	}
}

// Draining answers every held request at once with 503 shutting_down and
// Retry-After, so a drain ends with the requests in flight, not after
// wait_timeout.
func TestDrainAnswersHeldRequestsAtOnce(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	c := pausable(f, 20*time.Second)
	defer c.Close()
	_, _ = c.Pause(context.Background(), intervention.GlobalScope, "maintenance", intervention.ActorAdmin)
	const n = 3
	answers := make(chan answer, n)
	for range n {
		go func() { answers <- f.post("/v1/chat/completions", chatBody) }()
	}
	waitFor(t, "the requests to be held", func() bool { return c.Counters().RequestsWaiting == n })
	f.gw.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.gw.Wait(ctx); err != nil {
		t.Fatalf("the drain did not end while requests were held: %v", err)
	}
	for range n {
		a := receive(t, answers, "a held request's answer")
		if a.status != 503 || !strings.Contains(a.body, "shutting_down") || a.header.Get("Retry-After") == "" {
			t.Fatalf("a held request at drain: %d %v %s", a.status, a.header, a.body)
		}
	}
}

// Pauses hold at most intervention.max_held requests: one more gets 429
// too_many_held with Retry-After, at once, and the held ones are unharmed.
func TestHeldRequestsPastTheBoundGet429(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	c := intervention.New(intervention.Config{Enabled: true, MaxPause: time.Hour, WaitTimeout: time.Minute, MaxHeld: 2}, nil,
		intervention.State{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.gw.pause = c
	defer c.Close()
	_, _ = c.Pause(context.Background(), intervention.GlobalScope, "maintenance", intervention.ActorAdmin)
	answers := make(chan answer, 2)
	for range 2 {
		go func() { answers <- f.post("/v1/chat/completions", chatBody) }()
	}
	waitFor(t, "two requests held", func() bool { return c.Counters().RequestsWaiting == 2 })
	a := f.post("/v1/chat/completions", chatBody)
	if a.status != 429 || !strings.Contains(a.body, "too_many_held") || !strings.Contains(a.body, "max_held") || a.header.Get("Retry-After") == "" {
		t.Fatalf("past max_held: %d %v %s", a.status, a.header, a.body)
	}
	_, _ = c.Resume(context.Background(), intervention.GlobalScope, intervention.ActorAdmin)
	for range 2 {
		if a := receive(t, answers, "a held request's answer"); a.status != 200 {
			t.Fatalf("a held request: %d %s", a.status, a.body)
		}
	}
}

// scriptedPause is a Pauser whose first Blocks says paused and every
// later one not: a resume that lands between a request's arrival and its
// first look at the line.
type scriptedPause struct{ calls atomic.Int32 }

func (p *scriptedPause) Blocks(string) bool                                    { return p.calls.Add(1) == 1 }
func (p *scriptedPause) Changed() <-chan struct{}                              { return nil }
func (p *scriptedPause) Wait(context.Context, string, intervention.Hold) error { return nil }
func (p *scriptedPause) Drain()                                                {}

// A request that arrives paused joins the line even with slots free; if
// the pause ends before anyone waits on it, the line must still move: the
// request is served at once, not after queue_timeout.
func TestResumeBeforeTheFirstLookAtTheLineDoesNotStallIt(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), func(c *config.Config) { c.Models[0].QueueTimeout = 10 * time.Second })
	f.gw.pause = &scriptedPause{}
	done := make(chan answer, 1)
	go func() { done <- f.post("/v1/chat/completions", chatBody) }()
	select {
	case a := <-done:
		if a.status != 200 {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request was left in line with every slot free")
	}
}

// Time held by a pause is not time waiting for the backend: a request
// held longer than queue_timeout, released while its backend loads, waits
// for the backend instead of failing at once.
func TestTimeHeldByAPauseDoesNotCountAgainstTheWaitForTheBackend(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), func(c *config.Config) { c.Models[0].QueueTimeout = time.Second })
	c := pausable(f, time.Minute)
	defer c.Close()
	url := f.upstream.snap.URL
	f.upstream.set(func(s *supervisor.Snapshot) { s.State, s.URL = supervisor.StateLoading, "" })
	_, _ = c.Pause(context.Background(), intervention.GlobalScope, "maintenance", intervention.ActorAdmin)
	done := make(chan answer, 1)
	go func() { done <- f.post("/v1/chat/completions", chatBody) }()
	waitFor(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == 1 })
	time.Sleep(1200 * time.Millisecond) // held past queue_timeout
	_, _ = c.Resume(context.Background(), intervention.GlobalScope, intervention.ActorAdmin)
	time.Sleep(100 * time.Millisecond) // the backend is still loading when the pause ends
	f.upstream.set(func(s *supervisor.Snapshot) { s.State, s.URL = supervisor.StateReady, url })
	if a := receive(t, done, "the answer"); a.status != 200 {
		t.Fatalf("a request held past queue_timeout, released while its backend loads: %d %s", a.status, a.body)
	}
}

// A pause holds an Anthropic Messages request like a chat request, and
// the resume releases it to the backend.
func TestPauseHoldsAMessagesRequestUntilResume(t *testing.T) {
	paths := make(chan string, 1)
	f := newFixture(t, llamaLike(paths), nil)
	c := pausable(f, time.Minute)
	defer c.Close()
	_, _ = c.Pause(context.Background(), "tiny", "maintenance", intervention.ActorAdmin)
	done := make(chan answer, 1)
	go func() {
		done <- f.post("/v1/messages", `{"model":"tiny","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`)
	}()
	waitFor(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == 1 })
	if len(paths) != 0 {
		t.Fatal("a held request reached the backend")
	}
	_, _ = c.Resume(context.Background(), "tiny", intervention.ActorAdmin)
	a := receive(t, done, "the released request's answer")
	if a.status != 200 || !strings.Contains(a.body, `"type":"message"`) || receive(t, paths, "the backend's request") != "/v1/messages" {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

// A pause that outlasts wait_timeout answers a held /v1/messages request
// in Anthropic's envelope.
func TestPausedMessagesRequestTimesOutInAnthropicShape(t *testing.T) {
	f := newFixture(t, llamaLike(nil), nil)
	c := pausable(f, 20*time.Millisecond)
	defer c.Close()
	_, _ = c.Pause(context.Background(), intervention.GlobalScope, "investigating", intervention.ActorAdmin)
	a := f.post("/v1/messages", `{"model":"tiny","messages":[]}`)
	var e struct {
		Type  string `json:"type"`
		Error struct{ Type, Message, Code string }
	}
	if err := json.Unmarshal([]byte(a.body), &e); err != nil || a.status != 503 || e.Type != "error" || e.Error.Type != "overloaded_error" ||
		e.Error.Code != "inference_paused" || a.header.Get("Retry-After") == "" {
		t.Fatalf("got %d %v %s", a.status, a.header, a.body)
	}
}
