package runner

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that declares a body and trickles it is cut off after the
// runner's --timeout, as by custos serve's own listener, instead of
// holding a connection and a goroutine for ever.
func TestRunnerCutsOffATrickledBody(t *testing.T) {
	base := serveRunner(t, Config{CtxSize: 512, TimeoutSecs: 1})
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
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
