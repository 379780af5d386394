package remote_test

import (
	"fmt"
	"net/http"
	"testing"

	"custos/internal/config"
	"custos/internal/standin"
)

func conversation(n, turns int) string {
	msgs := fmt.Sprintf(`{"role":"system","content":"be brief"},{"role":"user","content":"conversation %d"}`, n)
	for i := 1; i < turns; i++ {
		msgs += fmt.Sprintf(`,{"role":"assistant","content":"reply %d"},{"role":"user","content":"turn %d"}`, i, i)
	}
	return `{"model":"tiny","messages":[` + msgs + `]}`
}

func affinityFront(t *testing.T, maxConcurrency int) (*front, *counted, *counted) {
	t.Helper()
	a, b := newCounted(t, standin.Options{}), newCounted(t, standin.Options{})
	m := remoteModel(a.url, b.url)
	m.Remote.Balance = config.BalancePrefixAffinity
	m.MaxConcurrency = maxConcurrency
	f := startFront(t, m, "", remoteOptions())
	f.waitState(t, a.url, "ready")
	f.waitState(t, b.url, "ready")
	return f, a, b
}

// owner sends one turn of conversation n and says which replica served it.
func owner(t *testing.T, f *front, a, b *counted, n, turns int) *counted {
	t.Helper()
	before := a.requests.Load()
	if r := f.post(conversation(n, turns)); r.status != http.StatusOK {
		t.Fatalf("conversation %d: status %d: %s", n, r.status, r.body)
	}
	if a.requests.Load() > before {
		return a
	}
	return b
}

// Every turn of a conversation goes to the replica that served its
// first, and different conversations spread over both.
func TestPrefixAffinityKeepsAConversationOnItsReplica(t *testing.T) {
	f, a, b := affinityFront(t, 8)
	owners := map[*counted]int{}
	for n := range 12 {
		first := owner(t, f, a, b, n, 1)
		owners[first]++
		for turns := 2; turns <= 4; turns++ {
			if got := owner(t, f, a, b, n, turns); got != first {
				t.Fatalf("conversation %d, turn %d went to another replica than its first", n, turns)
			}
		}
	}
	if owners[a] == 0 || owners[b] == 0 {
		t.Fatalf("12 conversations: %d on the first replica, %d on the second", owners[a], owners[b])
	}
}

// A conversation whose replica is busy (at its share of max_concurrency)
// goes to the least loaded one.
func TestPrefixAffinityFallsBackWhenItsReplicaIsBusy(t *testing.T) {
	f, a, b := affinityFront(t, 2) // a share of 1 each
	own := owner(t, f, a, b, 1, 1)
	other := a
	if own == a {
		other = b
	}
	release := own.holdRequests()
	defer release()
	held := make(chan reply, 1)
	go func() { held <- f.post(conversation(1, 2)) }()
	eventually(t, "the first turn held at its replica", func() bool { return own.inFlight.Load() == 1 })
	before := other.requests.Load()
	if r := f.post(conversation(1, 3)); r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if other.requests.Load() != before+1 {
		t.Fatal("with its replica busy, the conversation did not go to the other")
	}
	release()
	if r := <-held; r.status != http.StatusOK {
		t.Fatalf("the held turn: status %d", r.status)
	}
}

// A conversation whose replica is down goes to another, with no request
// failed.
func TestPrefixAffinityFallsBackWhenItsReplicaIsDown(t *testing.T) {
	f, a, b := affinityFront(t, 8)
	own := owner(t, f, a, b, 1, 1)
	other := a
	if own == a {
		other = b
	}
	own.stop()
	for turns := 2; turns <= 5; turns++ {
		if got := owner(t, f, a, b, 1, turns); got != other {
			t.Fatalf("turn %d did not go to the replica still up", turns)
		}
	}
	f.waitState(t, own.url, "ejected")
}
