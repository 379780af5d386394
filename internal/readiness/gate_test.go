package readiness

import (
	"encoding/json"
	"testing"
	"time"
)

type fixed struct{ s State }

func (f *fixed) Readiness() (State, string) { return f.s, "" }

func newGate(deadline time.Time, now time.Time) (*Gate, *fixed, *fixed) {
	store, engine := &fixed{Warming}, &fixed{Warming}
	g := New(deadline, Subsystem{StateStore, store}, Subsystem{Engine, engine})
	g.now = func() time.Time { return now }
	return g, store, engine
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestStartsWarmingAndClosed(t *testing.T) {
	g, _, _ := newGate(time.Time{}, t0)
	if g.Open() {
		t.Fatal("a new gate must be closed")
	}
}

func TestOpenOnlyWhenEverySubsystemServes(t *testing.T) {
	cases := []struct {
		store, engine State
		open          bool
	}{
		{Ready, Ready, true},
		{Ready, Degraded, true},
		{Degraded, Ready, true},
		{Ready, Failed, false},
		{Failed, Ready, false},
		{Warming, Ready, false},
		{Ready, Warming, false},
	}
	for _, tc := range cases {
		g, store, engine := newGate(time.Time{}, t0)
		store.s, engine.s = tc.store, tc.engine
		if got := g.Open(); got != tc.open {
			t.Errorf("store %v engine %v: open = %v, want %v", tc.store, tc.engine, got, tc.open)
		}
		if got := g.Status().Open; got != tc.open {
			t.Errorf("store %v engine %v: Status().Open = %v, want %v", tc.store, tc.engine, got, tc.open)
		}
	}
}

func TestDeadlinePromotesWarmingToDegraded(t *testing.T) {
	g, store, _ := newGate(t0, t0.Add(time.Second))
	store.s = Ready
	if !g.Open() {
		t.Fatal("past the deadline a Warming engine must count as Degraded")
	}
	st := g.Status()
	if st.Subsystems[1].State != Degraded || !st.Subsystems[1].Promoted {
		t.Fatalf("engine not promoted: %+v", st.Subsystems[1])
	}
}

func TestDeadlineNotYetElapsedKeepsWarming(t *testing.T) {
	g, store, _ := newGate(t0.Add(time.Minute), t0)
	store.s = Ready
	if g.Open() {
		t.Fatal("before the deadline Warming keeps the gate closed")
	}
}

func TestDeadlineDoesNotPromoteFailed(t *testing.T) {
	g, store, engine := newGate(t0, t0.Add(time.Hour))
	store.s, engine.s = Ready, Failed
	if g.Open() {
		t.Fatal("Failed must keep the gate closed past the deadline")
	}
}

func TestDrainClosesTheGate(t *testing.T) {
	g, store, engine := newGate(time.Time{}, t0)
	store.s, engine.s = Ready, Ready
	g.Drain()
	if g.Open() || g.Status().Open || !g.Status().Draining {
		t.Fatal("a draining gate must be closed")
	}
}

func TestStateJSONUsesSeedNames(t *testing.T) {
	b, _ := json.Marshal(map[string]State{"a": Warming, "b": Ready, "c": Degraded, "d": Failed})
	if string(b) != `{"a":"Warming","b":"Ready","c":"Degraded","d":"Failed"}` {
		t.Fatalf("got %s", b)
	}
}

func TestEngineState(t *testing.T) {
	cases := []struct {
		name     string
		m        Models
		fallback bool
		want     State
	}{
		{"all ready", Models{Total: 2, Ready: 2}, false, Ready},
		{"some ready", Models{Total: 2, Ready: 1}, false, Degraded},
		{"some ready, one unhealthy", Models{Total: 2, Ready: 1, Unhealthy: 1}, false, Degraded},
		{"none ready, fallback for unhealthy", Models{Total: 2, Unhealthy: 1}, true, Degraded},
		{"all unhealthy, no fallback", Models{Total: 2, Unhealthy: 2}, false, Failed},
		{"starting up, no fallback", Models{Total: 2, Unhealthy: 1}, false, Warming},
		{"starting up with a fallback", Models{Total: 1}, true, Degraded},
		{"restarting after serving", Models{Total: 1, Recovering: 1}, false, Degraded},
		{"no models", Models{}, false, Failed},
		// A readiness probe must not fail because a model idled out: an
		// unloaded model is loaded when a request names it.
		{"every model unloaded", Models{Total: 2, Unloaded: 2}, false, Ready},
		{"one ready, one unloaded", Models{Total: 2, Ready: 1, Unloaded: 1}, false, Ready},
		{"one unloaded, one starting", Models{Total: 2, Unloaded: 1}, false, Degraded},
	}
	for _, tc := range cases {
		if got, _ := EngineState(tc.m, tc.fallback); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestStateJSONRoundTrip(t *testing.T) {
	for _, s := range []State{Warming, Ready, Degraded, Failed} {
		b, _ := json.Marshal(s)
		var back State
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%v: got %v, %v", s, back, err)
		}
	}
	var s State
	if err := json.Unmarshal([]byte(`"Sleeping"`), &s); err == nil {
		t.Fatal("an unknown name must be an error")
	}
}
