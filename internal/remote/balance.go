package remote

import (
	"hash/fnv"

	"custos/internal/config"
)

// candidate is one replica as the balancing decision sees it.
type candidate struct {
	url      string
	ready    bool // ready and not retiring
	tried    bool // this request already failed on it
	inFlight int
}

// choose is the balancing decision for one attempt of a request: the
// index in c of the replica to send it to, or -1 when no replica is ready
// and untried. It is pure; the pool turns its answer into an attempt.
//
// least_requests takes the ready, untried replica with the fewest requests
// in flight; ties go to the first from start on, so that a steady trickle
// of requests visits every replica rather than always the first.
//
// prefix_affinity first looks at the replica the request's key belongs
// to — the highest of hash(key, url) over every replica the model has,
// ready or not (rendezvous hashing: a replica that comes or goes moves
// only the keys that were its own) — and takes it unless it is down,
// tried, or busy: in flight at its share of max_concurrency or more
// (share). Otherwise, and for a request with no key (0: no prompt to
// keep together), it is least_requests.
func choose(c []candidate, policy string, key uint64, share, start int) int {
	if policy == config.BalancePrefixAffinity && key != 0 && len(c) > 0 {
		own, best := 0, uint64(0)
		for i := range c {
			if s := score(key, c[i].url); i == 0 || s > best {
				own, best = i, s
			}
		}
		if o := c[own]; o.ready && !o.tried && o.inFlight < share {
			return own
		}
	}
	pick := -1
	for k := range c {
		i := (start + k) % len(c)
		if !c[i].ready || c[i].tried {
			continue
		}
		if pick < 0 || c[i].inFlight < c[pick].inFlight {
			pick = i
		}
	}
	return pick
}

// score is the rendezvous weight of key on the replica at url.
func score(key uint64, url string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(url))
	return mix(h.Sum64() ^ key)
}

// mix is splitmix64's finalizer: every bit of the input moves the output,
// so close keys and close URLs still score independently.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// shareOf is each ready replica's share of the model's max_concurrency,
// rounded up: the in-flight count past which a replica is busy for
// prefix_affinity.
func shareOf(maxConcurrency, ready int) int {
	if ready <= 0 {
		return maxConcurrency
	}
	return max(1, (maxConcurrency+ready-1)/ready)
}
