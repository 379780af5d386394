package netns

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Forward makes a server that listens on the root namespace's loopback
// (target, host:port) reachable from the hosts: it returns an address on
// the bridge where each connection is relayed to target. Servers other
// harnesses start on 127.0.0.1 (a test PostgreSQL) need it, as a host's
// 127.0.0.1 is its own. A connection target refuses is closed at once, as
// the server's own refusal would be; the relay stops when the test ends.
func (n *Network) Forward(t testing.TB, target string) string {
	t.Helper()
	if !n.isolated {
		return target
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(n.Gateway, "0"))
	if err != nil {
		t.Fatalf("netns: forwarding to %s: %v", target, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	track := func(c net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			open[c] = struct{}{}
		} else {
			delete(open, c)
		}
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				relay(client, target, track)
			}()
		}
	}()
	return ln.Addr().String()
}

// relay copies both ways between client and a new connection to target
// until either side closes.
func relay(client net.Conn, target string, track func(net.Conn, bool)) {
	track(client, true)
	defer track(client, false)
	defer client.Close()
	server, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	track(server, true)
	defer track(server, false)
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(server, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, server); done <- struct{}{} }()
	<-done
}
