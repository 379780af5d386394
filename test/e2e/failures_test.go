package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"custos/internal/proctest"
)

// fallbackServer is an OpenAI-compatible upstream that records what it got.
type fallbackServer struct {
	*httptest.Server
	mu     sync.Mutex
	models []string
	auth   []string
}

func newFallback(t *testing.T) *fallbackServer {
	f := &fallbackServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.models = append(f.models, req.Model)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"from fallback"},"finish_reason":"stop"}]}`, req.Model)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fallbackServer) last() (model, auth string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.models) == 0 {
		return "", ""
	}
	return f.models[len(f.models)-1], f.auth[len(f.auth)-1]
}

func fallbackYAML(url string) string {
	return fmt.Sprintf("fallback:\n  url: %s/v1\n  api_key_env: CUSTOS_E2E_FALLBACK_KEY\n  models: {tiny: remote-tiny}\n", url)
}

func TestCrashDuringLoadRestartsThenUnhealthy(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--load-time", "400ms", "--crash-during-load"), ""))
	m := c.waitState("tiny", "unhealthy", 30*time.Second)
	if m["restarts"].(float64) < 2 || !strings.Contains(fmt.Sprint(m["last_exit"]), "exit status 1") {
		t.Fatalf("want restarts and the exit reason, got %v", m)
	}
	status, body := c.get("/health")
	var h map[string]any
	_ = json.Unmarshal(body, &h)
	if status != 503 || h["status"] != "unhealthy" || h["warm_up_state"] != "unhealthy" {
		t.Fatalf("/health: %d %v", status, h)
	}
}

func TestCrashLoopGoesUnhealthyThenFallbackServes(t *testing.T) {
	t.Setenv("CUSTOS_E2E_FALLBACK_KEY", "fallback-secret")
	fb := newFallback(t)
	state := filepath.Join(t.TempDir(), "starts")
	c := startCustos(t, fallbackYAML(fb.URL)+"models:\n"+fastModel("tiny", standinCmd("--fail-starts", "1000", "--state-file", state), ""))
	c.waitState("tiny", "unhealthy", 30*time.Second)

	r := c.post(context.Background(), "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`)
	if r.Status != 200 || r.Header.Get("X-Custos-Backend") != "fallback" || !strings.Contains(string(r.Body), "from fallback") {
		t.Fatalf("fallback did not serve: %d %v %s", r.Status, r.Header, r.Body)
	}
	model, auth := fb.last()
	if model != "remote-tiny" || auth != "Bearer fallback-secret" {
		t.Fatalf("fallback got model %q auth %q", model, auth)
	}
	if status, _ := c.get("/readyz"); status != 200 {
		t.Fatalf("with a fallback serving, the gate must be open (Degraded); /readyz = %d", status)
	}
}

func TestUnhealthyWithoutFallbackClosesTheGate(t *testing.T) {
	state := filepath.Join(t.TempDir(), "starts")
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--fail-starts", "1000", "--state-file", state), ""))
	c.waitState("tiny", "unhealthy", 30*time.Second)
	r := c.chat(context.Background(), "tiny", false)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("got %d %v %s", r.Status, r.Header, r.Body)
	}
}

func TestRestartCommandRecoversUnhealthyModel(t *testing.T) {
	state := filepath.Join(t.TempDir(), "starts")
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--fail-starts", "3", "--state-file", state), "    unhealthy_cooldown: 1h\n"))
	c.waitState("tiny", "unhealthy", 30*time.Second)
	out, err := runCustos("restart", "--addr", c.Addr, "tiny")
	if err != nil {
		t.Fatalf("custos restart: %v\n%s", err, out)
	}
	c.waitState("tiny", "ready", 20*time.Second)
}

func TestHangAfterReadyIsKilledAndRestarted(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--hang-after", "300ms"), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	c.Eventually("the hung backend is killed and restarted", 20*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["restarts"].(float64) >= 1 && strings.Contains(fmt.Sprint(m["last_exit"]), "probe")
	})
}

func TestHealthNeverAnsweringDuringLoadDoesNotWedge(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--load-time", "1h", "--hang-health-during-load"), "    ready_timeout: 1s\n"))
	c.Eventually("the stalled load is killed and restarted", 20*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["restarts"].(float64) >= 1
	})
	start := time.Now()
	c.get("/status")
	if time.Since(start) > 5*time.Second {
		t.Fatalf("/status took %v while a backend hangs", time.Since(start))
	}
}

func TestLoadPastDeadlineGoesToFallback(t *testing.T) {
	t.Setenv("CUSTOS_E2E_FALLBACK_KEY", "k")
	fb := newFallback(t)
	c := startCustos(t, "readiness: {deadline: 1s}\n"+fallbackYAML(fb.URL)+"models:\n"+fastModel("tiny", standinCmd("--load-time", "1h"), ""))
	var r reply
	c.Eventually("the fallback serves a model loading past the deadline", 20*time.Second, func() bool {
		r = c.chat(context.Background(), "tiny", false)
		return r.Status == 200 && r.Header.Get("X-Custos-Backend") == "fallback"
	})
}

func TestQueueFullGets429(t *testing.T) {
	// The queue must still be full when the third request comes: the first
	// request's delay leaves seconds for that on a loaded machine.
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--response-delay", "5s"), "    max_concurrency: 1\n    queue_max: 1\n"))
	c.waitState("tiny", "ready", 20*time.Second)
	var wg sync.WaitGroup
	replies := make(chan reply, 3)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); replies <- c.chat(context.Background(), "tiny", false) }()
	}
	c.Eventually("one in flight and one queued", 10*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["in_flight"].(float64) == 1 && m["queued"].(float64) == 1
	})
	r := c.chat(context.Background(), "tiny", false)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" || r.ErrorCode() == "" {
		t.Fatalf("want 429 with Retry-After, got %d %v %s", r.Status, r.Header, r.Body)
	}
	proctest.Receive(t, "the admitted requests' answers", answerWithin, proctest.Done(&wg))
	close(replies)
	for r := range replies {
		if r.Status != 200 {
			t.Fatalf("an admitted request failed: %d %s", r.Status, r.Body)
		}
	}
}

func TestQueueTimeoutGets503(t *testing.T) {
	// The first request must still hold the only slot when the second has
	// waited its queue_timeout: its delay leaves seconds for that on a
	// loaded machine.
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--response-delay", "6s"), "    max_concurrency: 1\n    queue_timeout: 300ms\n"))
	c.waitState("tiny", "ready", 20*time.Second)
	first := make(chan reply, 1)
	go func() { first <- c.chat(context.Background(), "tiny", false) }()
	c.Eventually("first request in flight", 10*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["in_flight"].(float64) == 1
	})
	r := c.chat(context.Background(), "tiny", false)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.ErrorCode() == "" {
		t.Fatalf("want 503 with Retry-After, got %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := proctest.Receive(t, "the first request's answer", answerWithin, first); r.Status != 200 {
		t.Fatalf("the first request failed: %d %s", r.Status, r.Body)
	}
}

func TestBodyTooLargeGets413(t *testing.T) {
	c := startCustos(t, "max_body_bytes: 1KiB\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	big := fmt.Sprintf(`{"model":"tiny","messages":[{"role":"user","content":%q}]}`, strings.Repeat("x", 4096))
	r := c.post(context.Background(), "/v1/chat/completions", big)
	if r.Status != 413 || r.ErrorCode() == "" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	r = c.post(context.Background(), "/v1/chat/completions", `{"model":`)
	if r.Status != 400 {
		t.Fatalf("truncated JSON: got %d %s", r.Status, r.Body)
	}
	_, _ = io.Discard.Write(r.Body)
}
