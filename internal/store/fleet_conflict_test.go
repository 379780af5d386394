package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"custos/internal/intervention"
	"custos/internal/pgtest"
)

// outcome is one acknowledged change: which replica, what it did, and
// whether it changed anything.
type outcome struct {
	replica, action, scope string
	changed                bool
}

// Two replicas changing the fleet's state at the same moment, over and
// over: every change one of them acknowledged as made is in the fleet's
// state and audit log, under its replica's name; neither overwrites the
// other's.
func TestFleetConcurrentChangesOnTwoReplicasLoseNone(t *testing.T) {
	dsn := pgtest.Shared(t)
	a, b := startReplica(t, dsn, "a", fleetConfig()), startReplica(t, dsn, "b", fleetConfig())
	const rounds = 21
	var mu sync.Mutex
	var acked []outcome
	var wg sync.WaitGroup
	// Each replica toggles a model of its own, and both fight over the
	// global pause: a pauses it, b resumes it.
	for _, r := range []*replica{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				var res intervention.Result
				var err error
				action := "pause"
				if i%2 == 0 {
					res, err = r.ctl.Pause(ctx, "model-"+r.name, "round "+fmt.Sprint(i), intervention.ActorAdmin)
				} else {
					action = "resume"
					res, err = r.ctl.Resume(ctx, "model-"+r.name, intervention.ActorAdmin)
				}
				if err != nil || !res.Durable || !res.Changed {
					t.Errorf("%s round %d %s: %+v, %v", r.name, i, action, res, err)
				}
				mu.Lock()
				acked = append(acked, outcome{r.name, action, "model:model-" + r.name, res.Changed})
				mu.Unlock()
				if r == a {
					res, err = r.ctl.Pause(ctx, intervention.GlobalScope, "a wants it paused", intervention.ActorAdmin)
					action = "pause"
				} else {
					res, err = r.ctl.Resume(ctx, intervention.GlobalScope, intervention.ActorAdmin)
					action = "resume"
				}
				cancel()
				if err != nil || !res.Durable {
					t.Errorf("%s round %d global %s: %+v, %v", r.name, i, action, res, err)
				}
				mu.Lock()
				acked = append(acked, outcome{r.name, action, "global", res.Changed})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	log := auditOf(t, a)
	inLog := map[outcome]int{}
	for _, ev := range log {
		inLog[outcome{ev.Replica, ev.Action, ev.Scope, true}]++
	}
	want := map[outcome]int{}
	for _, o := range acked {
		if o.changed {
			want[o]++
		}
	}
	for o, n := range want {
		if inLog[o] != n {
			t.Errorf("%s's %s of %s: acknowledged %d times as made, %d in the audit log", o.replica, o.action, o.scope, n, inLog[o])
		}
	}
	if len(log) != len(want) && t.Failed() {
		t.Logf("audit log: %+v", log)
	}
	// The fleet's state is what the log says last, and both replicas end
	// there: each model paused by its own last round.
	st, err := readFleetState(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{a, b} {
		if st.Models["model-"+r.name] == nil {
			t.Errorf("%s's last pause of its model was lost: fleet state %+v", r.name, st.Models)
		}
		waitFor(t, 2*time.Second, r.name+" to end on the fleet's state", func() bool {
			got := r.ctl.State()
			return len(got.Models) == len(st.Models) && (got.Global == nil) == (st.Global == nil)
		})
	}
	var lastGlobal string
	for _, ev := range log {
		if ev.Scope == "global" {
			lastGlobal = ev.Action
		}
	}
	if (lastGlobal == "pause") != (st.Global != nil) {
		t.Errorf("the log's last global change is %q, the fleet's state has global pause %+v", lastGlobal, st.Global)
	}
}

func readFleetState(t *testing.T, dsn string) (State, error) {
	t.Helper()
	s := openPostgres(t, dsn, "reader")
	defer s.Close()
	return s.Open()
}
