// Package freeport hands out loopback ports for servers this process is about to start. The kernel names a
// port free right now; the port is then released so that the server can bind it, and until it does, the
// kernel may name the same port again. A Pool remembers the ports it handed out and never hands one out
// twice until it is given back, so two servers started at once never race for one port and a health probe
// of one never reaches the other. Programs outside the process can still take a port in that moment; the
// server then fails to bind, which its starter sees as an exit.
package freeport

import (
	"fmt"
	"net"
	"sync"
)

// attempts bounds how often Take asks the kernel before it gives up: the kernel picks ports at random over
// thousands, so more than a couple of repeats in a row means something else is wrong.
const attempts = 32

// Pool hands out ports on one host. The zero value asks the kernel; Listen replaces the kernel in tests.
type Pool struct {
	// Listen names a port free on host, or fails; nil is the kernel's choice of a free port.
	Listen func(host string) (int, error)

	mu   sync.Mutex
	held map[int]bool
}

// Take returns a port free on host a moment ago that the pool has not handed out since it was last given
// back.
func (p *Pool) Take(host string) (int, error) {
	listen := p.Listen
	if listen == nil {
		listen = kernelPort
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for range attempts {
		port, err := listen(host)
		if err != nil {
			return 0, err
		}
		if !p.held[port] {
			if p.held == nil {
				p.held = map[int]bool{}
			}
			p.held[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port on %s after %d tries: every port named is already handed out", host, attempts)
}

// Release gives port back once the server that had it has stopped, so it may be handed out again.
func (p *Pool) Release(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, port)
}

// kernelPort binds port 0 on host and reports the port the kernel chose, closing it again.
func kernelPort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
