package store

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"custos/internal/intervention"
)

// Concurrent pauses, resumes, wellbeing reports and waiting requests,
// global and per model, through the real SQLite journal: every
// intervention the counters count is in the audit log, and the state a
// restart reads back is the state the controller ended in.
func TestStormThroughSQLiteLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custos.db")
	s, restored, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := intervention.Config{Enabled: true, PauseOnDistressed: true, MaxPause: time.Hour, WaitTimeout: 20 * time.Millisecond}
	c := intervention.New(cfg, s, restored, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var wg sync.WaitGroup
	const workers, rounds = 6, 40
	for w := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range rounds {
				scope := [...]string{intervention.GlobalScope, "a", "b"}[(w+i)%3]
				switch (w + i) % 4 {
				case 0:
					_, _ = c.Pause(context.Background(), scope, "storm", intervention.ActorAdmin)
				case 1:
					_, _ = c.Resume(context.Background(), scope, intervention.ActorCLI)
				case 2:
					_, _ = c.UpdateWellbeing(context.Background(), intervention.Distressed, "storm", intervention.ActorAdmin)
				case 3:
					_, _ = c.UpdateWellbeing(context.Background(), intervention.Healthy, "calm", intervention.ActorAdmin)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range rounds {
				_ = c.Wait(context.Background(), [...]string{"a", "b"}[i%2], intervention.Hold{})
			}
		}()
	}
	stormed := make(chan struct{})
	go func() {
		wg.Wait()
		close(stormed)
	}()
	select {
	case <-stormed:
	case <-time.After(60 * time.Second):
		t.Fatalf("the storm's workers and waiters not done within 60s; counters %+v", c.Counters())
	}
	final := c.State()
	counters := c.Counters()
	c.Close()
	if counters.RequestsBlocked != counters.RequestsWaited+counters.RequestsTimedOut || counters.RequestsWaiting != 0 {
		t.Fatalf("blocked %d != waited %d + timed out %d (waiting %d)", counters.RequestsBlocked, counters.RequestsWaited, counters.RequestsTimedOut, counters.RequestsWaiting)
	}
	events, err := s.Audit(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(events)) != counters.InterventionsTotal || len(events) == 0 {
		t.Fatalf("audit log holds %d events, counters say %d interventions", len(events), counters.InterventionsTotal)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, got, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !sameState(got, final) {
		t.Fatalf("a restart reads back %+v, the controller ended in %+v", got, final)
	}
}

// sameState compares control states, with times compared as instants.
func sameState(a, b intervention.State) bool {
	norm := func(p *intervention.Pause) *intervention.Pause {
		if p == nil {
			return nil
		}
		q := *p
		q.Since, q.Until = q.Since.UTC(), q.Until.UTC()
		return &q
	}
	// The fleet's version is a shared store's; SQLite does not keep it.
	a.Version, b.Version = 0, 0
	a.Global, b.Global = norm(a.Global), norm(b.Global)
	am, bm := map[string]*intervention.Pause{}, map[string]*intervention.Pause{}
	for k, p := range a.Models {
		am[k] = norm(p)
	}
	for k, p := range b.Models {
		bm[k] = norm(p)
	}
	a.Models, b.Models = am, bm
	return reflect.DeepEqual(a, b)
}
