package runner

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"custos/internal/llama/llamatest"
)

// A client that declares a body and trickles it is cut off after the
// runner's --timeout, as by custos serve's own listener, instead of
// holding a connection and a goroutine for ever.
func TestRunnerCutsOffATrickledBody(t *testing.T) {
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{ModelPath: model, CtxSize: 512, LibDir: llamatest.LibDir(t), TimeoutSecs: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() {
		stop()
		select {
		case <-served:
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return within 20s of the stop")
		}
	}()
	if err := waitReady("http://"+ln.Addr().String(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprint(conn, "POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"content\":")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("a trickled body was not cut off within 20s (timeout 1s): %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("a trickled body got %d", resp.StatusCode)
	}
}
