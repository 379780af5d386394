package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"custos/internal/config"
	"custos/internal/intervention"
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
	_, _ = c.Pause("tiny", "maintenance", intervention.ActorAdmin)
	done := make(chan answer, 1)
	go func() { done <- f.post("/v1/chat/completions", chatBody) }()
	waitFor(t, "the request to wait", func() bool { return c.Counters().RequestsWaiting == 1 })
	_, _ = c.Resume("tiny", intervention.ActorAdmin)
	if a := <-done; a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

func TestPausedRequestTimesOutWith503(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	c := pausable(f, 20*time.Millisecond)
	defer c.Close()
	_, _ = c.Pause(intervention.GlobalScope, "investigating", intervention.ActorAdmin)
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
	_, _ = c.Pause("other", "maintenance", intervention.ActorAdmin)
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
	_, _ = c.Pause("tiny", "maintenance", intervention.ActorAdmin)
	answers := make(chan answer, held)
	for i := range held {
		go func() {
			answers <- f.post("/v1/chat/completions", fmt.Sprintf(`{"model":"tiny","messages":[{"role":"user","content":"r%d"}]}`, i))
		}()
		waitFor(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == int64(i+1) })
	}
	_, _ = c.Resume("tiny", intervention.ActorAdmin)
	for range held {
		if a := <-answers; a.status != 200 {
			t.Fatalf("a held request got %d %s", a.status, a.body)
		}
	}
	want := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	if !slices.Equal(order, want) || most != 1 {
		t.Fatalf("backend saw %v with up to %d at once; want %v one at a time", order, most, want)
	}
}
