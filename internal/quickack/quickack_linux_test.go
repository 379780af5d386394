package quickack

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// stall is the least a delayed acknowledgement holds an answer back (Linux
// waits at least 40 ms); anything faster was not held.
const stall = 35 * time.Millisecond

// serveConns listens on loopback and runs handle on each connection, in a
// goroutine of its own, closing it afterwards.
func serveConns(tb testing.TB, handle func(*net.TCPConn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c.(*net.TCPConn))
			}()
		}
	}()
	return ln.Addr().String()
}

// splitServer answers each line it reads with a head and a body in two
// writes, TCP_NODELAY as given: off, it is the backend of the issue.
func splitServer(tb testing.TB, nodelay bool) string {
	return serveConns(tb, func(c *net.TCPConn) {
		if err := c.SetNoDelay(nodelay); err != nil {
			panic(err)
		}
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			if _, err := io.WriteString(c, "head\n"); err != nil {
				return
			}
			if _, err := io.WriteString(c, "body\n"); err != nil {
				return
			}
		}
	})
}

// exchange sends a line and reads the two-line answer.
func exchange(c net.Conn, r *bufio.Reader) error {
	if _, err := io.WriteString(c, "ask\n"); err != nil {
		return err
	}
	for range 2 {
		if _, err := r.ReadString('\n'); err != nil {
			return err
		}
	}
	return nil
}

func dial(tb testing.TB, addr string, wrap bool) net.Conn {
	tb.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	if wrap {
		c = Wrap(c)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// The peer of the issue sends an answer's second half only once the first
// is acknowledged; a wrapped connection must acknowledge at once, not after
// the delayed-ACK timer. Durations are compared with a kernel timer of 40 ms
// or more per exchange, not a tight threshold: without Wrap every exchange
// after the first is held.
//
// A held exchange is held whatever the load, and load only lengthens an
// exchange, so one round with most exchanges fast proves the reads are not
// held: a round that a busy machine slowed is given up to two more, while
// without Wrap every round is held.
func TestWrappedReadsAreNotHeldByDelayedACKs(t *testing.T) {
	c := dial(t, splitServer(t, false), true)
	r := bufio.NewReader(c)
	const n, rounds = 20, 3
	var tries []string
	for range rounds {
		var held int
		var took []time.Duration
		for range n {
			if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := exchange(c, r); err != nil {
				t.Fatalf("exchange %d: %v", len(took)+1, err)
			}
			d := time.Since(start)
			took = append(took, d)
			if d >= stall {
				held++
			}
		}
		if held < n/2 {
			return
		}
		tries = append(tries, fmt.Sprintf("%d of %d: %v", held, n, took))
	}
	t.Fatalf("in each of %d rounds, most exchanges took ≥ %v, as if each waited for a delayed ACK:\n%s", rounds, stall, strings.Join(tries, "\n"))
}

// BenchmarkRead compares reads with and without Wrap: exchanges with a
// backend that sets TCP_NODELAY (the usual case, where Wrap only costs),
// and bulk reads of a stream, where data is always waiting and each read
// pays its setsockopt.
func BenchmarkRead(b *testing.B) {
	for _, wrap := range []bool{false, true} {
		name := "plain"
		if wrap {
			name = "quickack"
		}
		b.Run("exchange/"+name, func(b *testing.B) {
			c := dial(b, splitServer(b, true), wrap)
			r := bufio.NewReader(c)
			for b.Loop() {
				if err := exchange(c, r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("stream/"+name, func(b *testing.B) {
			c := dial(b, streamServer(b), wrap)
			buf := make([]byte, 16<<10)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// streamServer writes to each connection as fast as it can until it closes.
func streamServer(tb testing.TB) string {
	return serveConns(tb, func(c *net.TCPConn) {
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
}
