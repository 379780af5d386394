package standin

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stall is the least a delayed ACK holds an answer back (Linux waits at
// least 40 ms); an exchange faster than this was not held.
const stall = 35 * time.Millisecond

// heldExchanges sends n sequential GET /health to addr on one keep-alive
// connection of net/http's client, which leaves acknowledgements to the
// kernel's delayed ACKs, and counts those that took ≥ stall.
func heldExchanges(t *testing.T, addr string, n int) (int, []time.Duration) {
	t.Helper()
	var conns atomic.Int32
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			conns.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, address)
		},
	}}
	defer client.CloseIdleConnections()
	held, took := 0, make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		resp, err := client.Get("http://" + addr + "/health")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(body)) {
			t.Fatalf("request %d: %d, Content-Length %d, %d bytes %q, %v", i, resp.StatusCode, resp.ContentLength, len(body), body, err)
		}
		d := time.Since(start)
		took = append(took, d)
		if d >= stall {
			held++
		}
	}
	if c := conns.Load(); c != 1 {
		t.Fatalf("%d sequential requests used %d connections, want 1", n, c)
	}
	return held, took
}

// --no-nodelay must reproduce the backend of issue 9: with TCP_NODELAY off
// and the head written apart from the body, the body waits for the head's
// acknowledgement, which a client delays, so nearly every answer on a
// keep-alive connection is held for the delayed-ACK timer; without it none is.
//
// Load only lengthens an exchange, so "most held" needs no allowance for a
// busy machine, while "few held" may be belied by one: a held exchange is
// held whatever the load, so one round with most exchanges fast proves the
// answers are not held, and a busy round is given up to two more.
func TestNoNoDelayHoldsAnswersForAClientsDelayedACK(t *testing.T) {
	const n, rounds = 20, 3
	if held, took := heldExchanges(t, serveInProcess(t, Options{NoNoDelay: true}).addr, n); held < n/2 {
		t.Fatalf("with NoNoDelay, %d of %d exchanges took ≥ %v, want most: %v", held, n, stall, took)
	}
	addr := serveInProcess(t, Options{}).addr
	var tries []string
	for range rounds {
		held, took := heldExchanges(t, addr, n)
		if held < n/2 {
			return
		}
		tries = append(tries, fmt.Sprintf("%d of %d: %v", held, n, took))
	}
	t.Fatalf("without NoNoDelay, most exchanges took ≥ %v in each of %d rounds, want few:\n%s", stall, rounds, strings.Join(tries, "\n"))
}

// The head is sent apart, yet streamed answers still stream and end.
func TestNoNoDelayStillStreams(t *testing.T) {
	url, _ := startInProcess(t, Options{NoNoDelay: true, StreamChunks: 4})
	resp, err := post(t, nil, url+"/v1/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"a b c"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if events := readEvents(resp.Body); len(events) != 5 || events[4] != "[DONE]" {
		t.Fatalf("events = %q, want 4 chunks and [DONE]", events)
	}
}
