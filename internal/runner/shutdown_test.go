package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"custos/internal/llama/llamatest"
)

// Stopping the runner lets a request in flight finish (within the grace) instead of cutting it off.
func TestStopLetsAnInFlightStreamFinish(t *testing.T) {
	base, stop, served := serveStoppable(t, 2048, shutdownGrace)
	resp, err := testClient.Post(base+"/completion", "application/json",
		strings.NewReader(`{"prompt":"finish me","stream":true,"ignore_eos":true,"n_predict":400}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewScanner(resp.Body)
	if !events.Scan() {
		t.Fatalf("no first event: %v", events.Err())
	}
	stop()

	var last []byte
	for events.Scan() {
		if data, ok := bytes.CutPrefix(events.Bytes(), []byte("data: ")); ok {
			last = append(last[:0], data...)
		}
	}
	var final struct {
		Stop            bool `json:"stop"`
		TokensPredicted int  `json:"tokens_predicted"`
	}
	if err := json.Unmarshal(last, &final); err != nil || !final.Stop || final.TokensPredicted != 400 {
		t.Fatalf("last event %s, want the whole 400 tokens", last)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve returned %v after a clean stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after the stop")
	}
}

// serveStoppable runs a runner of its own on the test model with a context of ctxSize and the given
// shutdown grace, ready, and returns its URL, what stops it, and where Serve's result arrives.
func serveStoppable(t *testing.T, ctxSize int, grace time.Duration) (base string, stop func(), served <-chan error) {
	t.Helper()
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{ModelPath: model, CtxSize: ctxSize, LibDir: llamatest.LibDir(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.shutdownGrace = grace
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	result := make(chan error, 1)
	go func() { result <- srv.Serve(ctx, ln) }()
	base = "http://" + ln.Addr().String()
	if err := waitReady(base, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return base, cancel, result
}
