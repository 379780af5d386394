package remote

import (
	"net/http"

	"custos/internal/config"
)

// Key is the affinity key of a request body under prefix_affinity (see
// prefixKey); 0, without reading the body, under least_requests.
func (p *Pool) Key(body []byte) uint64 {
	if p.model.Remote.Balance != config.BalancePrefixAffinity {
		return 0
	}
	return prefixKey(body)
}

// Pick chooses the replica for one attempt of a request whose key is key
// and which already failed on tried, and counts the attempt in flight on
// it until its Done; false when no untried replica is ready.
func (p *Pool) Pick(key uint64, tried []*Replica) (*Replica, bool) {
	reps := *p.replicas.Load()
	var buf [8]candidate
	c := buf[:0]
	ready := 0
	for _, r := range reps {
		st := r.status.Load().State
		ok := st == ReplicaReady && !r.retiring.Load()
		if ok {
			ready++
		}
		c = append(c, candidate{url: r.url, ready: ok, tried: contains(tried, r), inFlight: int(r.inFlight.Load())})
	}
	start := 0
	if len(reps) > 1 {
		start = int(p.rotation.Add(1) % uint64(len(reps)))
	}
	i := choose(c, p.model.Remote.Balance, key, shareOf(p.model.MaxConcurrency, ready), start)
	if i < 0 {
		return nil, false
	}
	reps[i].inFlight.Add(1)
	return reps[i], true
}

// Spare reports whether a ready replica is left beside tried: whether an
// attempt that fails now may still be tried on another.
func (p *Pool) Spare(tried []*Replica) bool {
	for _, r := range *p.replicas.Load() {
		if r.status.Load().State == ReplicaReady && !r.retiring.Load() && !contains(tried, r) {
			return true
		}
	}
	return false
}

// UpstreamModel is the name the replicas know the model by.
func (p *Pool) UpstreamModel() string { return p.model.Remote.UpstreamModel }

// Header holds the upstream's key, for every request sent to a replica.
func (p *Pool) Header() http.Header { return p.header }

// Transport carries the requests sent to the replicas.
func (p *Pool) Transport() http.RoundTripper { return p.transport }

func contains(list []*Replica, r *Replica) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}
