package fleet

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"custos/internal/proctest"
)

// propagationBound is the bound: a pause made on one replica
// holds requests on every replica within it.
const propagationBound = 100 * time.Millisecond

// pauseOnOneReplicaHoldsRequestsOnAll pauses on each replica in turn
// under load and measures how long the pause takes to reach the two
// others, from each one's log line for adopting it, stamped by custos on
// the machine's one clock. The bound is asserted from the origin's own
// log line for the pause, written once its commit returned (another
// replica may adopt the change before that line: it counts as no time);
// logged beside it are the time from the moment the test sent the pause
// (which adds the request's handling and the commit), and from the
// acknowledgement to the moment the test's polls of /admin/intervention
// saw every replica paused (which adds the polls' own latency). It checks
// that a request sent to each replica then is held until the resume, and
// that every change is in the audit log.
func pauseOnOneReplicaHoldsRequestsOnAll(t *testing.T, f *fleet, l *ledger) {
	// Two clients, not four: on two cores the load's own inference would
	// otherwise compete with the notification it measures.
	r := load(t, allOf(f.gateways), 2, maxRequests)
	r.answered(t, 20, 30*time.Second)

	const trials = 9
	var worst, fromSend, polled []time.Duration
	for i := range trials {
		origin := f.gateways[i%len(f.gateways)]
		others := slices.DeleteFunc(slices.Clone(f.gateways), func(n *node) bool { return n == origin })
		reason := fmt.Sprintf("propagation trial %d on %s", i, origin.name)
		sent := time.Now()
		l.pause(t, origin, reason)
		acked := time.Now()
		var mu sync.Mutex
		slowest := time.Duration(0)
		var wg sync.WaitGroup
		for _, o := range others {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(acked) < 10*time.Second {
					if p, err := paused(o); err == nil && p {
						mu.Lock()
						slowest = max(slowest, time.Since(acked))
						mu.Unlock()
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
		proctest.Receive(t, "the other replicas see the pause", 15*time.Second, proctest.Done(&wg))
		for _, o := range others {
			if p, err := paused(o); err != nil || !p {
				t.Fatalf("trial %d: %s is not paused 10s after %s acknowledged the pause (%v)", i, o.name, origin.name, err)
			}
		}
		polled = append(polled, slowest)
		fromCommit, sentToAdopted := propagation(t, sent, origin, others, reason)
		worst, fromSend = append(worst, fromCommit), append(fromSend, sentToAdopted)
		if i == 0 {
			heldEverywhere(t, f, l, origin)
		}
		l.resume(t, others[0])
		for _, g := range f.gateways {
			eventually(t, g.name+" resumed", 5*time.Second, func() bool { p, err := paused(g); return err == nil && !p })
		}
	}
	r.answered(t, 10, 30*time.Second)
	tl := r.stop()
	slices.Sort(worst)
	slices.Sort(fromSend)
	slices.Sort(polled)
	t.Logf("a pause committed on one replica → adopted by the other two (custos's log times), %d trials: median %v, max %v (bound %v); all: %v",
		trials, worst[trials/2].Round(100*time.Microsecond), worst[trials-1].Round(100*time.Microsecond), propagationBound, worst)
	t.Logf("the pause sent → adopted by the other two: median %v, max %v; the acknowledgement → the test's polls see every replica paused: median %v, max %v",
		fromSend[trials/2].Round(100*time.Microsecond), fromSend[trials-1].Round(100*time.Microsecond),
		polled[trials/2].Round(100*time.Microsecond), polled[trials-1].Round(100*time.Microsecond))
	t.Logf("load: %s", tl)
	if worst[trials-1] > propagationBound {
		t.Errorf("a pause took %v to reach every replica; the bound is %v", worst[trials-1], propagationBound)
	}
	if tl.failed.Load() > 0 {
		t.Errorf("requests failed while pauses came and went: %s", tl)
	}
	l.checkNoChangeLost(t, f.gateways[2])
}

// propagation is how long after origin logged the pause of that reason
// the last of the others logged adopting it (no time if that came first),
// and how long after sent.
func propagation(t *testing.T, sent time.Time, origin *node, others []*node, reason string) (fromCommit, fromSend time.Duration) {
	t.Helper()
	var committed time.Time
	eventually(t, origin.name+" logs the pause", 5*time.Second, func() bool {
		var ok bool
		committed, ok = origin.logged("inference paused", reason)
		return ok
	})
	for _, o := range others {
		var adopted time.Time
		eventually(t, o.name+" logs adopting the pause", 5*time.Second, func() bool {
			var ok bool
			adopted, ok = o.logged("intervention on another replica", reason)
			return ok
		})
		fromCommit = max(fromCommit, adopted.Sub(committed))
		fromSend = max(fromSend, adopted.Sub(sent))
	}
	return fromCommit, fromSend
}

// heldEverywhere sends a request to each replica while the fleet is
// paused: none may be answered until the resume, which origin's
// neighbour sends.
func heldEverywhere(t *testing.T, f *fleet, l *ledger, origin *node) {
	t.Helper()
	type answer struct {
		gw   string
		at   time.Time
		code int
	}
	answers := make(chan answer, len(f.gateways))
	for _, g := range f.gateways {
		go func() {
			body := fmt.Sprintf(`{"model":%q,"max_tokens":2,"messages":[{"role":"user","content":"held on %s"}]}`, model, g.name)
			rep := proctest.Post(context.Background(), inferenceClient, g.url("/v1/chat/completions"), body)
			answers <- answer{g.name, time.Now(), rep.Status}
		}()
	}
	select {
	case a := <-answers:
		t.Fatalf("%s answered %d during a fleet-wide pause made on %s", a.gw, a.code, origin.name)
	case <-time.After(500 * time.Millisecond):
	}
	resumeSent := time.Now()
	l.resume(t, origin)
	for range f.gateways {
		a := proctest.Receive(t, "a held request answered after the resume", 20*time.Second, answers)
		if a.code != 200 {
			t.Errorf("%s: a held request got %d after the resume", a.gw, a.code)
		}
		if a.at.Before(resumeSent) {
			t.Errorf("%s answered a held request before the resume", a.gw)
		}
	}
	l.pause(t, origin, "held-everywhere check, paused again for the trial's resume")
	for _, g := range f.gateways {
		eventually(t, g.name+" paused again", 5*time.Second, func() bool { p, err := paused(g); return err == nil && p })
	}
}
