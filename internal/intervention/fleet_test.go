package intervention

import (
	"sync"
	"testing"
	"time"
)

// sharedJournal is a journal several controllers share, as a database
// is: a compare-and-set on the version of one stored state.
type sharedJournal struct {
	mu     sync.Mutex
	state  State
	events []Event
	losses int // conflicts answered
}

func (j *sharedJournal) Record(st State, events ...Event) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state.Version != st.Version-1 {
		j.losses++
		return &ConflictError{Newest: j.state.clone()}
	}
	j.state = st.clone()
	j.events = append(j.events, events...)
	return nil
}

func (j *sharedJournal) newest() State {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state.clone()
}

// A change decided from a state another replica has since changed is
// decided again on top of the newest: this replica's model pause joins
// the other's instead of overwriting it, and only the change made is
// journaled.
func TestChangeLosingARaceIsDecidedAgainOnTheNewestState(t *testing.T) {
	j := &sharedJournal{}
	a, b := New(defaults(), j, State{}, quiet), New(defaults(), j, State{}, quiet)
	defer a.Close()
	defer b.Close()
	if _, err := a.Pause(bg, "x", "a's", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	r, err := b.Pause(bg, "y", "b's", ActorAdmin) // b has not heard of a's pause
	if err != nil || !r.Changed || !r.Durable {
		t.Fatalf("b's pause: %+v, %v", r, err)
	}
	st := j.newest()
	if st.Models["x"] == nil || st.Models["y"] == nil || j.losses != 1 || len(j.events) != 2 {
		t.Fatalf("journal: state %+v, %d conflicts, events %+v; want both pauses, one conflict, two events", st.Models, j.losses, j.events)
	}
	if !b.Blocks("x") {
		t.Fatal("b, having lost the race, does not hold a's pause")
	}
}

// A change that the newest state already holds is answered as in effect,
// and nothing more is journaled.
func TestChangeAlreadyMadeByAnotherReplicaIsInEffect(t *testing.T) {
	j := &sharedJournal{}
	a, b := New(defaults(), j, State{}, quiet), New(defaults(), j, State{}, quiet)
	defer a.Close()
	defer b.Close()
	_, _ = a.Pause(bg, GlobalScope, "a's", ActorAdmin)
	r, err := b.Pause(bg, GlobalScope, "b's", ActorAdmin)
	if err != nil || r.Changed || !r.Durable || r.State.Global == nil || r.State.Global.Reason != "a's" {
		t.Fatalf("b's pause of a paused fleet: %+v, %v; want unchanged, a's pause", r, err)
	}
	if len(j.events) != 1 {
		t.Fatalf("journal events %+v, want a's pause only", j.events)
	}
}

// Adopt publishes a newer state another replica committed, and arms its
// max_pause deadline; an older or equal one is ignored; it is not
// journaled again.
func TestAdoptPublishesANewerStateOnlyAndArmsItsDeadline(t *testing.T) {
	j := &memJournal{}
	c := New(defaults(), j, State{}, quiet)
	defer c.Close()
	timers := &afterFuncs{}
	timers.install(c)
	until := time.Now().Add(time.Minute)
	paused := State{Global: &Pause{Reason: "elsewhere", Since: time.Now(), Until: until, By: ActorAdmin}, Version: 3}
	c.Adopt(paused, []Event{{Action: "pause", Replica: "b"}})
	if !c.Blocks("m") || j.count() != 0 {
		t.Fatalf("after Adopt: blocks %v, %d events journaled", c.Blocks("m"), j.count())
	}
	if len(timers.fns) != 1 {
		t.Fatalf("%d max_pause timers armed for the adopted pause, want 1", len(timers.fns))
	}
	c.Adopt(State{Version: 2}, nil)
	if !c.Blocks("m") {
		t.Fatal("an older state replaced a newer one")
	}
	c.Adopt(State{Version: 4}, nil)
	if c.Blocks("m") {
		t.Fatal("a newer state was not adopted")
	}
}

// Adopt while the controller is restoring is the state read back.
func TestAdoptWhileRestoringRestores(t *testing.T) {
	c := NewRestoring(defaults(), nil, quiet)
	defer c.Close()
	c.Adopt(State{Models: map[string]*Pause{"m": {Reason: "fleet", Since: time.Now(), By: ActorAdmin}}, Version: 7}, nil)
	if c.Restoring() || !c.Blocks("m") || c.Blocks("other") {
		t.Fatalf("restoring %v, blocks m %v, other %v", c.Restoring(), c.Blocks("m"), c.Blocks("other"))
	}
	c.Restore(State{}) // the store's own answer, later: the first counts
	if !c.Blocks("m") {
		t.Fatal("a later Restore undid the adopted state")
	}
}

// The max_pause deadline is the one stored with the pause, not this
// replica's own max_pause counted from its start.
func TestMaxPauseIsTheDeadlineStoredWithThePause(t *testing.T) {
	cfg := defaults()
	cfg.MaxPause = time.Hour
	c := New(cfg, nil, State{}, quiet)
	defer c.Close()
	c.Adopt(State{Global: &Pause{Reason: "short elsewhere", Since: time.Now(), Until: time.Now().Add(30 * time.Millisecond), By: ActorAdmin}, Version: 1}, nil)
	waitUntil(t, "the stored deadline to end the pause", func() bool { return !c.Paused() })
}
