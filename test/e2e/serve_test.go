package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"custos/internal/proctest"
)

func TestServeProxiesChatStreamingAndReportsHealth(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--load-time", "300ms"), "    aliases: [default]\n"))
	c.waitState("tiny", "ready", 20*time.Second)

	r := c.chat(context.Background(), "default", false)
	if r.Err != nil || r.Status != 200 || !strings.Contains(string(r.Body), "standin reply") {
		t.Fatalf("chat: %d %s %v", r.Status, r.Body, r.Err)
	}
	r = c.chat(context.Background(), "tiny", true)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") || !strings.Contains(string(r.Body), "data: [DONE]") {
		t.Fatalf("stream: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}

	status, body := c.get("/health")
	var h map[string]any
	_ = json.Unmarshal(body, &h)
	if status != 200 || h["status"] != "ok" || h["warm_up_state"] != "ready" || h["backend"] != "llama-server" || h["model"] != "tiny" {
		t.Fatalf("/health: %d %v", status, h)
	}
	for path, want := range map[string]string{"/readyz": "ok", "/livez": "ok", "/v1/models": `"default"`, "/metrics": "custos_"} {
		status, body := c.get(path)
		if status != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, want %q in %.300s", path, status, want, body)
		}
	}

	out, err := runCustos("status", "--addr", c.Addr)
	if err != nil || !strings.Contains(out, "tiny (default)") || !strings.Contains(out, "ready") {
		t.Fatalf("custos status: %v\n%s", err, out)
	}
	out, err = runCustos("status", "--addr", c.Addr, "--json")
	if err != nil || !json.Valid([]byte(out)) {
		t.Fatalf("custos status --json: %v\n%s", err, out)
	}
}

func TestUnknownModelIs404(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	r := c.chat(context.Background(), "nope", false)
	if r.Status != 404 || r.ErrorCode() != "model_not_found" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
}

func TestGateClosedWhileWarming(t *testing.T) {
	c := startCustos(t, "readiness: {deadline: 60s}\nmodels:\n"+fastModel("tiny", standinCmd("--load-time", "60s"), ""))
	var progress float64
	c.Eventually("load progress reported", 20*time.Second, func() bool {
		m := c.modelState("tiny")
		if m == nil || m["state"] != "loading" {
			return false
		}
		progress, _ = m["progress"].(float64)
		return progress > 0
	})
	r := c.chat(context.Background(), "tiny", false)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.ErrorCode() == "" {
		t.Fatalf("gate closed: got %d %v %s", r.Status, r.Header, r.Body)
	}
	if status, _ := c.get("/readyz"); status != 503 {
		t.Fatalf("/readyz while warming: %d", status)
	}
	status, body := c.get("/health")
	var h map[string]any
	_ = json.Unmarshal(body, &h)
	if status != 503 || h["warm_up_state"] != "loading" {
		t.Fatalf("/health while warming: %d %v", status, h)
	}
}

func TestCrashMidRequestIsRetried(t *testing.T) {
	// The crash must come while the request is in flight: its delay leaves
	// seconds for that on a loaded machine.
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--response-delay", "5s"), ""))
	m := c.waitState("tiny", "ready", 20*time.Second)
	backendURL := m["url"].(string)

	done := make(chan reply, 1)
	go func() { done <- c.chat(context.Background(), "tiny", false) }()
	c.Eventually("request in flight", 10*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["in_flight"].(float64) == 1
	})
	resp, err := proctest.Client.Post(backendURL+"/_standin/crash", "application/json", nil)
	if err == nil {
		resp.Body.Close()
	}
	r := proctest.Receive(t, "the answer to the request in flight at the crash", answerWithin, done)
	if r.Status != 200 || !strings.Contains(string(r.Body), "standin reply") {
		t.Fatalf("the request was not retried on the restarted backend: %d %s %v", r.Status, r.Body, r.Err)
	}
	if m := c.modelState("tiny"); m["restarts"].(float64) < 1 {
		t.Fatalf("no restart recorded: %v", m)
	}
}

func TestClientDisconnectMidStreamCancelsUpstream(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--stream-chunks", "2000", "--chunk-interval", "10ms"), ""))
	c.waitState("tiny", "ready", 20*time.Second)

	// The test disconnects after two chunks; the timeout bounds the wait for them.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", c.URL("/v1/chat/completions"),
		strings.NewReader(`{"model":"tiny","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	for chunks := 0; chunks < 2; {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended early: %v", err)
		}
		if strings.HasPrefix(line, "data: ") {
			chunks++
		}
	}
	cancel()
	resp.Body.Close()
	c.Eventually("in-flight count back to zero after the client left", 10*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["in_flight"].(float64) == 0
	})
}

func TestStreamBrokenMidwayEndsWithErrorEvent(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--stream-chunks", "20", "--crash-mid-stream", "3"), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	r := c.chat(context.Background(), "tiny", true)
	if r.Err != nil {
		t.Fatalf("the stream did not close cleanly: %v", r.Err)
	}
	body := string(r.Body)
	if r.Status != 200 || !strings.Contains(body, `"stream_interrupted"`) || strings.Contains(body, "[DONE]") {
		t.Fatalf("want an SSE error event and no [DONE], got %d:\n%s", r.Status, body)
	}
}
