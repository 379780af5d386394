package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/scheduler"
	"custos/internal/supervisor"
)

// placedUpstream is a fake upstream the scheduler drives: Load makes it
// ready at url, Unload unloaded.
type placedUpstream struct {
	*fakeUpstream
	url   string
	loads atomic.Int32
}

func (u *placedUpstream) Load() {
	u.loads.Add(1)
	u.set(func(s *supervisor.Snapshot) { s.State, s.URL = supervisor.StateReady, u.url })
}

func (u *placedUpstream) Unload(string) {
	u.set(func(s *supervisor.Snapshot) { s.State, s.URL = supervisor.StateUnloaded, "" })
}

// withScheduler gives the fixture's model to a running scheduler, the
// model unloaded and loaded on demand.
func withScheduler(t *testing.T, f *fixture) *placedUpstream {
	u := &placedUpstream{fakeUpstream: f.upstream, url: f.upstream.snap.URL}
	f.upstream.set(func(s *supervisor.Snapshot) { s.State, s.URL = supervisor.StateUnloaded, "" })
	s := scheduler.New(scheduler.Budget{}, []scheduler.Model{{ID: "tiny", Backend: u}}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go s.Run(ctx)
	f.gw.sched = s
	return u
}

// A request for a model that is not loaded loads it and is served.
func TestRequestForAnUnloadedModelIsServedOnceLoaded(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	u := withScheduler(t, f)
	if a := f.post("/v1/chat/completions", chatBody); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	if n := u.loads.Load(); n != 1 {
		t.Fatalf("loads = %d", n)
	}
}

// A request held by a pause does not start a load: the model loads when
// the pause lifts.
func TestHeldRequestsDoNotStartLoads(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	u := withScheduler(t, f)
	c := pausable(f, time.Minute)
	defer c.Close()
	_, _ = c.Pause(context.Background(), intervention.GlobalScope, "maintenance", intervention.ActorAdmin)
	done := make(chan answer, 1)
	go func() { done <- f.post("/v1/chat/completions", chatBody) }()
	waitFor(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == 1 })
	time.Sleep(50 * time.Millisecond) // a load it started would have begun by now
	if n := u.loads.Load(); n != 0 {
		t.Fatalf("a held request started %d loads", n)
	}
	_, _ = c.Resume(context.Background(), intervention.GlobalScope, intervention.ActorAdmin)
	if a := receive(t, done, "the answer after the resume"); a.status != 200 || u.loads.Load() != 1 {
		t.Fatalf("after the resume: %d %s, %d loads", a.status, a.body, u.loads.Load())
	}
}

// A model whose only requests are held by a pause may be unloaded (here by
// its ttl), and is loaded again for them when the pause lifts.
func TestModelWithOnlyHeldRequestsMayUnloadAndReloadsOnResume(t *testing.T) {
	f := newFixture(t, http.HandlerFunc(ok), nil)
	u := &placedUpstream{fakeUpstream: f.upstream, url: f.upstream.snap.URL}
	s := scheduler.New(scheduler.Budget{}, []scheduler.Model{{ID: "tiny", Startup: true, TTL: 50 * time.Millisecond, Backend: u}}, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	f.gw.sched = s
	c := pausable(f, time.Minute)
	defer c.Close()
	_, _ = c.Pause(context.Background(), intervention.GlobalScope, "maintenance", intervention.ActorAdmin)
	done := make(chan answer, 1)
	go func() { done <- f.post("/v1/chat/completions", chatBody) }()
	waitFor(t, "the request to be held", func() bool { return c.Counters().RequestsWaiting == 1 })
	waitFor(t, "the model to unload while its only request is held", func() bool {
		snap, _ := u.Watch()
		return snap.State == supervisor.StateUnloaded
	})
	_, _ = c.Resume(context.Background(), intervention.GlobalScope, intervention.ActorAdmin)
	if a := receive(t, done, "the answer after the resume"); a.status != 200 || u.loads.Load() != 1 {
		t.Fatalf("after the resume: %d %s, %d loads", a.status, a.body, u.loads.Load())
	}
}
