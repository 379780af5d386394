package e2e

import (
	"context"
	"custos/internal/proctest"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A backend that stops accepting connections yet stays alive shows no
// crash: only failing probes reveal it. A request that meets the refused
// dial has not reached the client in any way, so custos must retry it on
// the restarted backend rather than drop it.
//
// The supervisor kills the backend only after unhealthy_after failed
// probes, so the retries must wait for that however many it takes.
func TestConnectionRefusedIsRetriedAfterRestart(t *testing.T) {
	for _, unhealthyAfter := range []int{3, 6} {
		t.Run(fmt.Sprintf("unhealthy_after=%d", unhealthyAfter), func(t *testing.T) {
			connectionRefusedIsRetried(t, fmt.Sprintf("    unhealthy_after: %d\n", unhealthyAfter))
		})
	}
}

func connectionRefusedIsRetried(t *testing.T, extra string) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), extra))
	m := c.waitState("tiny", "ready", 20*time.Second)
	backendURL, pid := m["url"].(string), m["pid"].(float64)
	// A first request leaves a kept-alive connection in custos's pool,
	// which refuse mode must close as well.
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("chat before refusing: %d %s %v", r.Status, r.Body, r.Err)
	}

	resp, err := proctest.Client.Post(backendURL+"/_standin/refuse", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.Eventually("the backend refuses connections", 10*time.Second, func() bool {
		return proctest.Refuses(strings.TrimPrefix(backendURL, "http://"))
	})

	r := c.chat(context.Background(), "tiny", false)
	if r.Status != 200 || !strings.Contains(string(r.Body), "standin reply") {
		t.Fatalf("the request that met a refused connection was not retried: %d %s %v", r.Status, r.Body, r.Err)
	}
	after := c.modelState("tiny")
	if after["restarts"].(float64) < 1 || after["pid"].(float64) == pid || !strings.Contains(fmt.Sprint(after["last_exit"]), "probe") {
		t.Fatalf("want the refusing backend killed on its probes and restarted, got %v", after)
	}
	if !retriedAfterRefusal(c.Output.String()) {
		t.Fatalf("no retry after a refused connection in custos's log; the request did not exercise the dial failure")
	}
}

// retriedAfterRefusal reports whether the log holds a gateway retry caused
// by a refused connection.
func retriedAfterRefusal(log string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "backend failed before answering; retrying") && strings.Contains(line, "connection refused") {
			return true
		}
	}
	return false
}
