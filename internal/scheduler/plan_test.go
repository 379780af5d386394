package scheduler

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const gib = 1 << 30

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// m builds an entry: loaded and ready unless opts say otherwise.
func m(id string, memory int64, opts ...func(*entry)) *entry {
	e := &entry{id: id, memory: amount{ram: memory}, loaded: true, resident: true, lastUsed: t0}
	for _, o := range opts {
		o(e)
	}
	return e
}

func unloaded(e *entry)         { e.loaded, e.resident = false, false }
func pinned(e *entry)           { e.pinned = true }
func loadingNow(e *entry)       { e.loading = true }
func busy(n int64) func(*entry) { return func(e *entry) { e.leases = n } }
func waiting(n int, since time.Duration) func(*entry) {
	return func(e *entry) { e.waiting, e.waitingSince = n, t0.Add(since) }
}
func usedAt(d time.Duration) func(*entry) { return func(e *entry) { e.lastUsed = t0.Add(d) } }
func ttl(d time.Duration) func(*entry)    { return func(e *entry) { e.ttl = d } }
func draining(e *entry)                   { e.draining, e.drainReason = true, "asked by admin" }
func goingAway(e *entry)                  { e.loaded, e.resident = false, true }
func onGPU(n int64) func(*entry)          { return func(e *entry) { e.memory.gpu = n } }

// ram is a budget of the machine's memory only.
func ram(n int64) amount { return amount{ram: n, gpu: 1<<63 - 1} }

func render(acts []action) string {
	var out []string
	for _, a := range acts {
		out = append(out, a.String())
	}
	return strings.Join(out, "; ")
}

func TestPlan(t *testing.T) {
	cases := []struct {
		name   string
		models []*entry
		budget amount
		now    time.Time
		want   []string
	}{
		{"a model that fits loads",
			[]*entry{m("a", 2*gib), m("b", 2*gib, unloaded, waiting(1, 0))}, ram(5 * gib), t0,
			[]string{"load b ()"}},
		{"requests for a loaded model are admitted",
			[]*entry{m("a", 2*gib, waiting(3, 0))}, ram(5 * gib), t0,
			[]string{"admit a ()"}},
		{"the least recently used idle model is unloaded to make room",
			[]*entry{m("old", 2*gib, usedAt(-time.Hour)), m("new", 2*gib, usedAt(-time.Minute)), m("c", 2*gib, unloaded, waiting(1, 0))}, ram(5 * gib), t0,
			[]string{"unload old (evicted for c)"}},
		{"idle models go before busy ones, however recently used",
			[]*entry{m("busy", 2*gib, busy(1), usedAt(-time.Hour)), m("idle", 2*gib), m("c", 2*gib, unloaded, waiting(1, 0))}, ram(5 * gib), t0,
			[]string{"unload idle (evicted for c)"}},
		{"a busy model is drained, not unloaded, when no idle one is enough",
			[]*entry{m("a", 3*gib, busy(2)), m("c", 3*gib, unloaded, waiting(1, 0))}, ram(5 * gib), t0,
			[]string{"drain a (evicted for c)"}},
		{"a pinned model and a model still loading are never victims",
			[]*entry{m("pin", 2*gib, pinned), m("boot", 2*gib, loadingNow), m("c", 2*gib, unloaded, waiting(1, 0))}, ram(5 * gib), t0,
			nil},
		{"nothing is evicted when evicting everything allowed would not be enough",
			[]*entry{m("pin", 3*gib, pinned), m("idle", 1*gib), m("c", 3*gib, unloaded, waiting(1, 0))}, ram(5 * gib), t0,
			nil},
		{"the longest waiting model is served first, and alone evicts",
			[]*entry{m("a", 2*gib, usedAt(-time.Hour)), m("b", 2*gib), m("late", 2*gib, unloaded, waiting(5, time.Second)), m("early", 2*gib, unloaded, waiting(1, 0))}, ram(4 * gib), t0,
			[]string{"unload a (evicted for early)"}},
		{"memory on its way out is waited for, not taken again",
			[]*entry{m("leaving", 2*gib, goingAway), m("idle", 2*gib), m("c", 2*gib, unloaded, waiting(1, 0))}, ram(4 * gib), t0,
			nil},
		{"a draining model unloads once its requests are done",
			[]*entry{m("a", 2*gib, draining)}, ram(5 * gib), t0,
			[]string{"unload a (asked by admin)"}},
		{"a draining model with requests in flight waits",
			[]*entry{m("a", 2*gib, draining, busy(1))}, ram(5 * gib), t0,
			nil},
		{"an idle model past its ttl unloads",
			[]*entry{m("a", 2*gib, ttl(5*time.Minute), usedAt(-6*time.Minute))}, ram(5 * gib), t0,
			[]string{"unload a (idle for 5m0s)"}},
		{"a model within its ttl, busy, or pinned stays",
			[]*entry{m("young", 2*gib, ttl(5*time.Minute), usedAt(-time.Minute)), m("busy", 1, ttl(time.Minute), usedAt(-time.Hour), busy(1)),
				m("pin", 1, pinned, ttl(time.Minute), usedAt(-time.Hour)), m("nottl", 1, usedAt(-time.Hour))}, ram(5 * gib), t0,
			nil},
		{"a model short of GPU memory evicts one that frees GPU memory, not one that frees only RAM",
			[]*entry{m("cpu", 1*gib, usedAt(-time.Hour)), m("gpu", 1*gib, onGPU(6*gib)), m("c", 1*gib, unloaded, onGPU(4*gib), waiting(1, 0))}, amount{ram: 10 * gib, gpu: 8 * gib}, t0,
			[]string{"unload gpu (evicted for c)"}},
		{"fitting in RAM is not enough when the GPU budget is full of pinned models",
			[]*entry{m("pin", 1*gib, pinned, onGPU(6*gib)), m("c", 1*gib, unloaded, onGPU(4*gib), waiting(1, 0))}, amount{ram: 10 * gib, gpu: 8 * gib}, t0,
			nil},
		{"a model that can never fit beside the pinned ones does not hold up one that can",
			[]*entry{m("pin", 15*gib, pinned), m("x", 8*gib, unloaded, waiting(9, 0)), m("y", 3*gib, unloaded, waiting(1, time.Second))}, ram(20 * gib), t0,
			[]string{"load y ()"}},
		{"an idle model past its ttl and chosen as a victim is unloaded once",
			[]*entry{m("a", 2*gib, ttl(time.Minute), usedAt(-time.Hour)), m("b", 2*gib, unloaded, waiting(1, 0))}, ram(3 * gib), t0,
			[]string{"unload a (evicted for b)"}},
		{"a model drained for one that stopped waiting serves on",
			[]*entry{m("a", 2*gib, busy(1), waiting(2, 0), func(e *entry) { e.draining, e.drainReason = true, "evicted for b" }), m("b", 2*gib, unloaded)}, ram(3 * gib), t0,
			[]string{"undrain a ()"}},
		{"a model drained for idleness that got requests serves on",
			[]*entry{m("a", 2*gib, busy(1), func(e *entry) { e.draining, e.drainReason = true, "idle for 1m0s" })}, ram(3 * gib), t0,
			[]string{"undrain a ()"}},
		{"an operator's load is placed like a request",
			[]*entry{m("idle", 3*gib), m("c", 3*gib, unloaded, func(e *entry) { e.asked, e.waitingSince = true, t0 })}, ram(5 * gib), t0,
			[]string{"unload idle (evicted for c)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := render(plan(tc.models, tc.budget, tc.now))
			if want := strings.Join(tc.want, "; "); got != want {
				t.Fatalf("plan: %q, want %q", got, want)
			}
		})
	}
}

// Two models that alternate under a budget for one swap once per batch:
// the loaded one drains (serves what it admitted) rather than being
// unloaded under its requests, and the other waits its turn.
func TestAlternatingModelsSwapOncePerBatch(t *testing.T) {
	a := m("a", 3*gib, busy(4))
	b := m("b", 3*gib, unloaded, waiting(4, 0))
	acts := plan([]*entry{a, b}, ram(4*gib), t0)
	if render(acts) != "drain a (evicted for b)" {
		t.Fatalf("first: %s", render(acts))
	}
	a.draining, a.drainReason = true, "evicted for b"
	a.waiting, a.waitingSince = 3, t0.Add(time.Second) // more requests for a arrive while it drains
	if acts := plan([]*entry{a, b}, ram(4*gib), t0); len(acts) != 0 {
		t.Fatalf("while a drains with requests in flight: %s", render(acts))
	}
	a.leases = 0
	if got := render(plan([]*entry{a, b}, ram(4*gib), t0)); got != "unload a (evicted for b)" {
		t.Fatalf("a's requests done: %s", got)
	}
	a.loaded, a.draining = false, false // unloading; its memory not free yet
	if acts := plan([]*entry{a, b}, ram(4*gib), t0); len(acts) != 0 {
		t.Fatalf("while a's process goes away: %s", render(acts))
	}
	a.resident = false
	if got := render(plan([]*entry{a, b}, ram(4*gib), t0)); got != "load b ()" {
		t.Fatalf("a gone: %s", got)
	}
	// b serves its batch; a waits, although it has waited since later.
	b.loaded, b.resident, b.waiting, b.leases = true, true, 0, 4
	got := plan([]*entry{a, b}, ram(4*gib), t0)
	if !slices.ContainsFunc(got, func(x action) bool { return x.kind == actDrain && x.id == "b" }) {
		t.Fatalf("b loaded for its batch, a waiting: %s", render(got))
	}
}

func TestCanEverFit(t *testing.T) {
	head := m("c", 3*gib, unloaded)
	if !canEverFit([]*entry{m("busy", 4*gib, busy(9)), head}, head, ram(5*gib)) {
		t.Fatal("a busy model can be drained: c can fit")
	}
	if canEverFit([]*entry{m("pin", 4*gib, pinned), head}, head, ram(5*gib)) {
		t.Fatal("beside a 4 GiB pinned model, 3 GiB cannot fit in 5")
	}
}
