// Package remote serves a model from servers on other hosts that custos
// does not start (backend: remote): a llama-server, an OpenAI-compatible
// server, or another custos. Each replica gets the probes, hang detection
// and readiness of a local backend, with ejection for a cool-down in place
// of a restart; the pool balances requests over the ready replicas (least
// requests in flight, or prefix affinity), finds replicas by DNS when
// asked to (a Kubernetes headless Service), and is unhealthy — so the
// fallback serves — only when no replica is ready.
//
// One goroutine owns each replica's state (replica.run) and one the
// pool's: the set of replicas and the model's snapshot (Pool.Run). The
// gateway reads published snapshots and counts its requests on atomics.
package remote

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"custos/internal/config"
	"custos/internal/supervisor"
)

// LookupFunc resolves a host name to its addresses, as
// net.Resolver.LookupHost does (every A and AAAA record). Tests give
// their own, so discovery is driven without a DNS server.
type LookupFunc func(ctx context.Context, host string) ([]string, error)

// Options are what a Pool needs beside its model.
type Options struct {
	Logger *slog.Logger
	// Lookup resolves discover's host (default net.DefaultResolver.LookupHost).
	Lookup LookupFunc
}

// published is one snapshot with the channel closed when the next one
// replaces it.
type published struct {
	snap    supervisor.Snapshot
	changed chan struct{}
}

// Pool is one remote model's replicas.
type Pool struct {
	model     config.Model
	header    http.Header
	transport *http.Transport
	log       *slog.Logger
	lookup    LookupFunc

	replicas atomic.Pointer[[]*Replica] // replaced whole by Run
	current  atomic.Pointer[published]
	rotation atomic.Uint64 // where least_requests starts looking, so ties rotate
	poke     chan struct{}
	stop     context.CancelFunc
	stopCtx  context.Context
	done     chan struct{}
	running  atomic.Bool

	// Owned by Run.
	snap       supervisor.Snapshot
	cancels    map[*Replica]context.CancelFunc
	wg         sync.WaitGroup
	discovered bool
}

// New prepares the pool of m (a model with backend: remote); nothing is
// probed until Run.
func New(m config.Model, opts Options) *Pool {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	lookup := opts.Lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	p := &Pool{
		model: m, header: http.Header{}, transport: newTransport(m, max(m.MaxConcurrency, 2)), log: log.With("model", m.ID), lookup: lookup,
		poke: make(chan struct{}, 1), done: make(chan struct{}), cancels: map[*Replica]context.CancelFunc{},
	}
	p.stopCtx, p.stop = context.WithCancel(context.Background())
	if m.Remote.APIKey != "" {
		p.header.Set("Authorization", "Bearer "+m.Remote.APIKey)
	}
	var reps []*Replica
	for _, u := range m.Remote.URLs {
		reps = append(reps, p.newReplica(u))
	}
	p.replicas.Store(&reps)
	p.snap = aggregate(supervisor.Snapshot{Model: m.ID, Progress: -1}, p.statuses(reps), false, time.Now())
	p.current.Store(&published{snap: p.snap, changed: make(chan struct{})})
	return p
}

// newTransport is the client of one remote model's requests (idle
// connections kept for perHost of them): TLS as usual, and for
// discovered replicas, addressed by IP, the name of the discover URL to
// verify their certificates against.
func newTransport(m config.Model, perHost int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // replicas are peers on the operator's network, never behind a proxy
	t.MaxIdleConnsPerHost = perHost
	if u, err := url.Parse(m.Remote.Discover); err == nil && u.Scheme == "https" {
		t.TLSClientConfig = &tls.Config{ServerName: u.Hostname()}
	}
	return t
}

func (p *Pool) newReplica(u string) *Replica {
	// Probes have their own connection, so that a probe never waits
	// behind requests for one.
	probes := &http.Client{Transport: newTransport(p.model, 1)}
	r := newReplica(u, &p.model, p.header, probes, p.log, p.changed)
	// Connections kept from before an ejection may be dead (a link that
	// went down, a host that came back): requests after it dial anew.
	r.onEject = p.transport.CloseIdleConnections
	return r
}

// changed has Run look at the replicas again; it never blocks.
func (p *Pool) changed() {
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

// ID is the model id.
func (p *Pool) ID() string { return p.model.ID }

// Run owns the pool until Stop or ctx ends: it runs every replica's
// goroutine, re-resolves discover, and publishes the model's snapshot.
func (p *Pool) Run(ctx context.Context) {
	if !p.running.CompareAndSwap(false, true) {
		return
	}
	defer close(p.done)
	defer p.transport.CloseIdleConnections()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.stopCtx, cancel)()
	for _, r := range *p.replicas.Load() {
		p.start(ctx, r)
	}
	var tick <-chan time.Time
	if p.model.Remote.Discover != "" {
		p.discover(ctx)
		t := time.NewTicker(p.model.Remote.DiscoverInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		p.refresh()
		select {
		case <-ctx.Done():
			for _, c := range p.cancels {
				c()
			}
			p.wg.Wait()
			p.snap.State, p.snap.Reason, p.snap.Since = supervisor.StateStopped, supervisor.ReasonShutdown, time.Now()
			p.publish()
			return
		case <-p.poke:
		case <-tick:
			p.discover(ctx)
		}
	}
}

func (p *Pool) start(ctx context.Context, r *Replica) {
	rctx, cancel := context.WithCancel(ctx)
	p.cancels[r] = cancel
	p.wg.Go(func() { r.run(rctx) })
}

// refresh forgets retired replicas with nothing in flight and publishes
// the model's snapshot if it changed.
func (p *Pool) refresh() {
	reps := *p.replicas.Load()
	kept := reps[:0:0]
	for _, r := range reps {
		if r.retiring.Load() && r.inFlight.Load() == 0 {
			p.cancels[r]()
			delete(p.cancels, r)
			p.log.Info("replica retired", "replica", r.url)
			continue
		}
		kept = append(kept, r)
	}
	if len(kept) != len(reps) {
		p.replicas.Store(&kept)
	}
	next := aggregate(p.snap, p.statuses(kept), p.discovered, time.Now())
	if next != p.snap {
		if next.State != p.snap.State {
			p.log.Info("remote model state", "state", next.State.String(), "reason", next.Reason)
		}
		p.snap = next
		p.publish()
	}
}

// discoverTimeout bounds one resolution of the discover name.
const discoverTimeout = 5 * time.Second

// discover resolves the discover name and brings the replicas in line:
// an address not known yet is a new replica; a replica whose address is
// gone retires once its requests are done. A failed lookup changes
// nothing: a DNS hiccup must not take every replica away.
func (p *Pool) discover(ctx context.Context) {
	base, err := url.Parse(p.model.Remote.Discover)
	if err != nil {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	addrs, err := p.lookup(lctx, base.Hostname())
	cancel()
	if err != nil {
		p.log.Warn("discovering replicas", "name", base.Hostname(), "err", err)
		return
	}
	p.discovered = true
	found := replicaURLs(base, addrs)
	reps := *p.replicas.Load()
	var known []string
	for _, r := range reps {
		if !r.retiring.Load() {
			known = append(known, r.url)
		}
	}
	add, gone := diff(known, found)
	if len(add) == 0 && len(gone) == 0 {
		return
	}
	next := slices.Clone(reps)
	for _, r := range next {
		if slices.Contains(gone, r.url) && r.retiring.CompareAndSwap(false, true) {
			p.log.Info("replica no longer discovered; retiring once its requests are done", "replica", r.url, "in_flight", r.inFlight.Load())
		}
	}
	for _, u := range add {
		r := p.newReplica(u)
		next = append(next, r)
		p.start(ctx, r)
		p.log.Info("replica discovered", "replica", u)
	}
	p.replicas.Store(&next)
}

// replicaURLs are the replicas' URLs for the addresses the discover
// name resolved to: its scheme, each address at its port, and its path.
func replicaURLs(base *url.URL, addrs []string) []string {
	port := base.Port()
	if port == "" {
		port = "80"
		if base.Scheme == "https" {
			port = "443"
		}
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		u := *base
		u.Host = net.JoinHostPort(a, port)
		s := u.String()
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// diff is what discovery changes: the URLs found that are not known, and
// the known ones not found. Pure.
func diff(known, found []string) (add, gone []string) {
	for _, f := range found {
		if !slices.Contains(known, f) {
			add = append(add, f)
		}
	}
	for _, k := range known {
		if !slices.Contains(found, k) {
			gone = append(gone, k)
		}
	}
	return add, gone
}

func (p *Pool) statuses(reps []*Replica) []ReplicaStatus {
	out := make([]ReplicaStatus, len(reps))
	for i, r := range reps {
		out[i] = r.Status()
	}
	return out
}

func (p *Pool) publish() {
	next := &published{snap: p.snap, changed: make(chan struct{})}
	close(p.current.Swap(next).changed)
}

// Stop stops the pool's goroutines and waits for them or for ctx.
func (p *Pool) Stop(ctx context.Context) error {
	p.stop()
	if !p.running.Load() {
		return nil
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Watch returns the model's snapshot and a channel closed at its next change.
func (p *Pool) Watch() (supervisor.Snapshot, <-chan struct{}) {
	c := p.current.Load()
	return c.snap, c.changed
}

// Snapshot is the model's snapshot as last published.
func (p *Pool) Snapshot() supervisor.Snapshot { return p.current.Load().snap }

// Replicas is every replica's status now, retiring ones included.
func (p *Pool) Replicas() []ReplicaStatus { return p.statuses(*p.replicas.Load()) }

// Logs is empty: a remote replica's output is on its own host.
func (p *Pool) Logs() []string { return nil }

// Restart, an operator's restart of a remote model, ends every ejection
// now: each ejected replica is probed at once and re-admitted if it
// passes. Nothing is started or stopped.
func (p *Pool) Restart() {
	for _, r := range *p.replicas.Load() {
		r.readmit()
	}
}

// Load does nothing: custos never loads a remote model (the scheduler
// counts it pinned, at no memory of this machine).
func (p *Pool) Load() {}

// Unload does nothing, for the same reason; the operator's unload route
// refuses a remote model.
func (p *Pool) Unload(string) {}
