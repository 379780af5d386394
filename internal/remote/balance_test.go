package remote

import (
	"fmt"
	"testing"

	"custos/internal/config"
)

func TestChooseLeastRequests(t *testing.T) {
	a, b, c := "http://a:1", "http://b:1", "http://c:1"
	cases := []struct {
		name  string
		cands []candidate
		start int
		want  int
	}{
		{"fewest in flight", []candidate{{url: a, ready: true, inFlight: 3}, {url: b, ready: true, inFlight: 1}, {url: c, ready: true, inFlight: 2}}, 0, 1},
		{"a tie goes to the first from start", []candidate{{url: a, ready: true}, {url: b, ready: true}, {url: c, ready: true}}, 2, 2},
		{"a tie from start wraps", []candidate{{url: a, ready: true}, {url: b, ready: true}, {url: c, ready: true, inFlight: 1}}, 2, 0},
		{"not ready is skipped", []candidate{{url: a, inFlight: 0}, {url: b, ready: true, inFlight: 5}}, 0, 1},
		{"tried is skipped", []candidate{{url: a, ready: true, tried: true}, {url: b, ready: true, inFlight: 5}}, 0, 1},
		{"none ready", []candidate{{url: a}, {url: b, ready: true, tried: true}}, 0, -1},
		{"no replicas", nil, 0, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := choose(tc.cands, config.BalanceLeastRequests, 42, 4, tc.start); got != tc.want {
				t.Fatalf("chose %d, want %d", got, tc.want)
			}
		})
	}
}

// ownerOf is the replica a key belongs to among urls.
func ownerOf(key uint64, urls []string) int {
	c := make([]candidate, len(urls))
	for i, u := range urls {
		c[i] = candidate{url: u, ready: true}
	}
	return choose(c, config.BalancePrefixAffinity, key, 100, 0)
}

func TestChoosePrefixAffinity(t *testing.T) {
	urls := []string{"http://a:1", "http://b:1", "http://c:1"}
	const key = 7
	own := ownerOf(key, urls)
	other := (own + 1) % 3
	ready := func(edit func(c []candidate)) []candidate {
		c := make([]candidate, 3)
		for i, u := range urls {
			c[i] = candidate{url: u, ready: true}
		}
		edit(c)
		return c
	}
	cases := []struct {
		name  string
		cands []candidate
		want  int
	}{
		{"its own replica, though more loaded", ready(func(c []candidate) { c[own].inFlight = 1 }), own},
		{"busy at its share: least loaded", ready(func(c []candidate) {
			c[own].inFlight = 2
			for i := range c {
				if i != own && i != other {
					c[i].inFlight = 1
				}
			}
		}), other},
		{"down: least loaded", ready(func(c []candidate) {
			c[own].ready = false
			for i := range c {
				if i != own && i != other {
					c[i].inFlight = 1
				}
			}
		}), other},
		{"tried: least loaded", ready(func(c []candidate) {
			c[own].tried = true
			for i := range c {
				if i != own && i != other {
					c[i].inFlight = 1
				}
			}
		}), other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := choose(tc.cands, config.BalancePrefixAffinity, key, 2, 0); got != tc.want {
				t.Fatalf("chose %d, want %d (own %d)", got, tc.want, own)
			}
		})
	}
}

// Rendezvous hashing: a replica that goes away moves only its own keys,
// and keys spread over every replica.
func TestAffinityOwnersAreStableAndSpread(t *testing.T) {
	urls := []string{"http://a:1", "http://b:1", "http://c:1"}
	owners := map[int]int{}
	moved := 0
	for k := range uint64(300) {
		key := mix(k + 1)
		own := ownerOf(key, urls)
		owners[own]++
		without := ownerOf(key, urls[:2])
		if own != 2 && without != own {
			moved++
		}
	}
	if moved != 0 {
		t.Fatalf("removing replica 2 moved %d keys of the other replicas", moved)
	}
	for i := range urls {
		if owners[i] < 50 {
			t.Fatalf("keys by owner %v: replica %d owns too few of 300", owners, i)
		}
	}
}

func TestShareOf(t *testing.T) {
	for _, tc := range []struct{ max, ready, want int }{{4, 2, 2}, {5, 2, 3}, {1, 3, 1}, {8, 0, 8}} {
		if got := shareOf(tc.max, tc.ready); got != tc.want {
			t.Errorf("shareOf(%d, %d) = %d, want %d", tc.max, tc.ready, got, tc.want)
		}
	}
}

func TestPrefixKey(t *testing.T) {
	sys := `{"role":"system","content":"be brief"}`
	turn1 := `{"messages":[` + sys + `,{"role":"user","content":"what is 2+2?"}]}`
	turn2 := `{"messages":[` + sys + `,{"role":"user","content":"what is 2+2?"},{"role":"assistant","content":"4"},{"role":"user","content":"and 3+3?"}]}`
	otherConversation := `{"messages":[` + sys + `,{"role":"user","content":"name a colour"}]}`
	if prefixKey([]byte(turn1)) != prefixKey([]byte(turn2)) {
		t.Error("two turns of one conversation key apart")
	}
	if prefixKey([]byte(turn1)) == prefixKey([]byte(otherConversation)) {
		t.Error("two conversations sharing only a system prompt key alike")
	}
	long := func(tail string) string { return fmt.Sprintf(`{"prompt":"%s%s"}`, repeat("x", prefixBytes), tail) }
	if prefixKey([]byte(long("a"))) != prefixKey([]byte(long("b"))) {
		t.Error("prompts alike in their first prefixBytes key apart")
	}
	if prefixKey([]byte(`{"prompt":"a"}`)) == prefixKey([]byte(`{"prompt":"b"}`)) {
		t.Error("different prompts key alike")
	}
	for _, b := range []string{`{"input_ids":[1,2]}`, `not json`, `{}`} {
		if k := prefixKey([]byte(b)); k != 0 {
			t.Errorf("%s keys %d, want 0", b, k)
		}
	}
}

func repeat(s string, n int) string {
	out := make([]byte, 0, n*len(s))
	for range n {
		out = append(out, s...)
	}
	return string(out)
}

func TestDiscoveryDiff(t *testing.T) {
	add, gone := diff([]string{"http://10.0.0.1:80", "http://10.0.0.2:80"}, []string{"http://10.0.0.2:80", "http://10.0.0.3:80"})
	if len(add) != 1 || add[0] != "http://10.0.0.3:80" || len(gone) != 1 || gone[0] != "http://10.0.0.1:80" {
		t.Fatalf("add %v gone %v", add, gone)
	}
}

// A request with no prompt to key (key 0) has no replica of its own under
// prefix_affinity: it is balanced by least requests, as prefixKey says,
// rather than all such requests piling onto the replica key 0 hashes to.
func TestChoosePrefixAffinityWithoutAKeyIsLeastRequests(t *testing.T) {
	urls := []string{"http://a:1", "http://b:1", "http://c:1"}
	for idle := range urls {
		c := make([]candidate, len(urls))
		for i, u := range urls {
			c[i] = candidate{url: u, ready: true, inFlight: 1}
		}
		c[idle].inFlight = 0
		if got := choose(c, config.BalancePrefixAffinity, 0, 100, 0); got != idle {
			t.Fatalf("key 0 with replica %d the least loaded: chose %d", idle, got)
		}
	}
}
