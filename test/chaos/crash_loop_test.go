package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newFallback is an OpenAI-compatible upstream answering every chat
// request; it counts what it served.
func newFallback(t *testing.T, served *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"fb","object":"chat.completion","model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"from fallback"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`, req.Model)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// postWaitingForReadiness sends a request the way a well-behaved client
// does while custos warms up: a 503 not_ready carrying Retry-After is
// waited out as asked and sent again (counted in waits), within the
// client's timeout; any other answer is returned as is.
func (cl *client) postWaitingForReadiness(url, body string, waits *atomic.Int64) reply {
	ctx, cancel := context.WithTimeout(context.Background(), cl.http.Timeout)
	defer cancel()
	for {
		r := cl.post(ctx, url, body)
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Err != nil || r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "not_ready" || err != nil {
			return r
		}
		waits.Add(1)
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-ctx.Done():
			return reply{Err: ctx.Err()}
		}
	}
}

// TestCrashLoopFallsBackWithoutFailures runs a model whose backend never
// starts, with a fallback upstream set. 32 clients send requests from the
// moment custos listens, waiting out the readiness gate's 503 not_ready
// with Retry-After as a client should: the model must go `unhealthy` after restart_max
// failed starts, the fallback must take over, and not one request may fail.
func TestCrashLoopFallsBackWithoutFailures(t *testing.T) {
	duration := chaosDuration(t)
	var served atomic.Int64
	fb := newFallback(t, &served)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`fallback:
  url: %s/v1
  models: {tiny: remote-tiny}
models:
  tiny:
    backend: llama-server
    cmd: %s
    max_concurrency: 4
    health_interval: 200ms
    health_timeout: 150ms
    restart_backoff: 50ms
    restart_max: 3
    unhealthy_cooldown: 1h
    ready_timeout: 10s
    stop_timeout: 2s
`, fb.URL, standinCmd("--fail-starts", "1000", "--state-file", filepath.Join(dir, "starts")))
	c := startCustos(t, writeConfig(t, dir, cfg))

	ta := &tally{}
	cl := newClient(60 * time.Second)
	defer cl.close()
	var fromFallback, gateWaits atomic.Int64
	until := time.Now().Add(duration)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runClients(clients, until, func(int) {
			r := cl.postWaitingForReadiness(c.URL("/v1/chat/completions"), chatBody("tiny", 16, false), &gateWaits)
			judgeChat(ta, r)
			if r.Status == 200 && strings.Contains(string(r.Body), "from fallback") {
				fromFallback.Add(1)
			}
		})
	}()
	m := c.waitState("tiny", "unhealthy", 30*time.Second)
	c.clientsDone(cl, until, done)
	report(t, ta, c.retries(), fmt.Sprintf("unhealthy after %d restarts; %d answered by the fallback; %d client waits on 503 not_ready + Retry-After before the model was unhealthy",
		m.Restarts, fromFallback.Load(), gateWaits.Load()))
	if ta.failed.Load() != 0 {
		t.Fatalf("%d requests failed, e.g. %q", ta.failed.Load(), ta.failures())
	}
	if fromFallback.Load() == 0 || served.Load() < fromFallback.Load() {
		t.Fatalf("the fallback did not take over: %d replies from it, %d served", fromFallback.Load(), served.Load())
	}
}
