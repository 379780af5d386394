package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/remote"
	"custos/internal/standin"
)

// names is a resolver the test controls: discovery's lookup seam
// (remote.Options.Lookup) answers from it, as a DNS server answering a
// headless Service's name would.
type names struct {
	mu    sync.Mutex
	addrs []string
	err   error
	asked atomic.Int64
}

func (n *names) set(err error, addrs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.addrs, n.err = addrs, err
}

func (n *names) lookup(_ context.Context, host string) ([]string, error) {
	n.asked.Add(1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if host != "replicas.test" {
		return nil, fmt.Errorf("unknown host %s", host)
	}
	return append([]string(nil), n.addrs...), n.err
}

// onPort runs a counted stand-in on ip:port.
func onPort(t *testing.T, ip string, port int) *counted {
	t.Helper()
	c := newCounted(t, standin.Options{})
	c.srv.Close() // only its handler is wanted
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		t.Skipf("cannot listen on %s:%d (needs the loopback range 127.0.0.0/8): %v", ip, port, err)
	}
	srv := httptest.NewUnstartedServer(c.srv.Config.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	c.srv, c.url = srv, srv.URL
	return c
}

// Discovery adds a replica its name starts resolving to, and retires
// one it no longer resolves to once that replica's request in flight is
// done; a failed lookup changes nothing.
func TestDiscoveryAddsAndRetiresReplicas(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	one, two := onPort(t, "127.0.0.1", port), onPort(t, "127.0.0.2", port)
	dns := &names{}
	dns.set(nil, "127.0.0.1")
	m := remoteModel()
	m.Remote.Discover = fmt.Sprintf("http://replicas.test:%d", port)
	f := startFront(t, m, "", remote.Options{Lookup: dns.lookup})
	f.waitState(t, one.url, "ready")
	if r := f.post(chatBody); r.status != http.StatusOK || one.requests.Load() != 1 {
		t.Fatalf("one replica: status %d, %d requests on it", r.status, one.requests.Load())
	}

	dns.set(nil, "127.0.0.1", "127.0.0.2")
	f.waitState(t, two.url, "ready")
	for range 6 {
		if r := f.post(chatBody); r.status != http.StatusOK {
			t.Fatalf("two replicas: status %d", r.status)
		}
	}
	if two.requests.Load() == 0 {
		t.Fatal("the discovered replica got no request")
	}

	release := one.holdRequests()
	defer release()
	held := make(chan reply, 1)
	go func() {
		// Requests until one lands on the first replica, where it is held.
		for range 20 {
			before := one.requests.Load()
			r := f.post(chatBody)
			if one.requests.Load() > before || r.status != http.StatusOK {
				held <- r
				return
			}
		}
		held <- reply{err: errors.New("20 requests and none on the first replica")}
	}()
	eventually(t, "a request held on the first replica", func() bool { return one.inFlight.Load() == 1 })
	dns.set(nil, "127.0.0.2")
	f.waitState(t, one.url, "retiring")
	before := two.requests.Load()
	if r := f.post(chatBody); r.status != http.StatusOK || two.requests.Load() != before+1 {
		t.Fatalf("while the first retires: status %d, not served by the second", r.status)
	}
	if f.replicaState(one.url) != "retiring" {
		t.Fatal("the retiring replica was forgotten with a request in flight")
	}
	release()
	select {
	case r := <-held:
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("the request in flight on the retiring replica: status %d, %v: %s", r.status, r.err, r.body)
		}
	case <-time.After(waitLimit):
		t.Fatal("the held request did not finish")
	}
	eventually(t, "the retired replica forgotten", func() bool { return f.replicaState(one.url) == "" })

	asked := dns.asked.Load()
	dns.set(errors.New("no such host"))
	eventually(t, "a failed lookup", func() bool { return dns.asked.Load() > asked+1 })
	if f.replicaState(two.url) != "ready" {
		t.Fatalf("a failed lookup changed the replicas: %+v", f.pool.Replicas())
	}
}
