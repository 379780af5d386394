package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/proctest"
)

// engineModel generates a small model once per test binary.
var engineModel = sync.OnceValues(func() (string, error) {
	path := filepath.Join(bins.Dir, "tiny-256x4.gguf")
	return path, gguf.GenerateFile(path, gguf.GenOptions{Dim: 256, Layers: 4, Seed: 1})
})

// startEngine runs custos over a real engine serving the generated model.
func startEngine(t *testing.T, e engine, extra string) *custos {
	t.Helper()
	model, err := engineModel()
	if err != nil {
		t.Fatal(err)
	}
	return startCustos(t, fmt.Sprintf(`models:
  tiny:
%s    aliases: [default]
    health_interval: 100ms
    health_timeout: 80ms
    unhealthy_after: 3
    restart_backoff: 50ms
    ready_timeout: 60s
    stop_timeout: 5s
%s`, e.block(t, model), extra))
}

type completion struct {
	Choices []struct {
		Message      struct{ Content string } `json:"message"`
		FinishReason string                   `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

func (c *custos) complete(t *testing.T, body string) (completion, reply) {
	t.Helper()
	r := c.post(context.Background(), "/v1/chat/completions", body)
	var out completion
	_ = json.Unmarshal(r.Body, &out)
	return out, r
}

func TestEngineServesThroughTheGateway(t *testing.T) { forEachEngine(t, testEngineServes) }

func testEngineServes(t *testing.T, e engine) {
	c := startEngine(t, e, "")
	c.waitState("tiny", "ready", 60*time.Second)
	body := `{"model":"default","seed":7,"max_tokens":24,"messages":[{"role":"user","content":"hello there"}]}`
	first, r := c.complete(t, body)
	if r.Status != 200 || len(first.Choices) != 1 || first.Choices[0].Message.Content == "" || first.Usage.CompletionTokens == 0 {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	second, _ := c.complete(t, body)
	if second.Choices[0].Message.Content != first.Choices[0].Message.Content {
		t.Fatalf("a fixed seed must give the same text twice: %q vs %q", first.Choices[0].Message.Content, second.Choices[0].Message.Content)
	}
	sr := c.post(context.Background(), "/v1/chat/completions", strings.Replace(body, `"seed":7`, `"seed":7,"stream":true`, 1))
	if sr.Status != 200 || !strings.Contains(string(sr.Body), "data: [DONE]") {
		t.Fatalf("stream: %d %s", sr.Status, sr.Body)
	}
	var streamed strings.Builder
	for _, line := range strings.Split(string(sr.Body), "\n") {
		var chunk struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if strings.HasPrefix(line, "data: {") && json.Unmarshal([]byte(line[6:]), &chunk) == nil && len(chunk.Choices) > 0 {
			streamed.WriteString(chunk.Choices[0].Delta.Content)
		}
	}
	if streamed.String() != first.Choices[0].Message.Content {
		t.Fatalf("streamed text %q differs from %q", streamed.String(), first.Choices[0].Message.Content)
	}
	if h := c.modelState("tiny"); h["backend"] != e.backend {
		t.Fatalf("backend: %v", h["backend"])
	}
}

func TestEngineKilledMidRequestIsRestartedAndRetried(t *testing.T) {
	forEachEngine(t, testEngineKilledMidRequest)
}

func testEngineKilledMidRequest(t *testing.T, e engine) {
	c := startEngine(t, e, "")
	m := c.waitState("tiny", "ready", 60*time.Second)
	pid := int(m["pid"].(float64))

	done := make(chan reply, 1)
	go func() {
		done <- c.post(context.Background(), "/v1/chat/completions",
			`{"model":"tiny","seed":3,"max_tokens":900,"ignore_eos":true,"messages":[{"role":"user","content":"tell me everything"}]}`)
	}()
	c.Eventually("the request in flight", 10*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["in_flight"].(float64) == 1
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := proctest.Receive(t, "the answer to the request in flight at the kill", answerWithin, done)
	if r.Status != 200 {
		t.Fatalf("the request was lost with the engine: %d %s", r.Status, r.Body)
	}
	after := c.waitState("tiny", "ready", 60*time.Second)
	if after["restarts"].(float64) < 1 || int(after["pid"].(float64)) == pid {
		t.Fatalf("no restart: %v", after)
	}
}

func TestEngineStoppedWithSIGSTOPIsKilledAndRestarted(t *testing.T) {
	forEachEngine(t, testEngineStopped)
}

func testEngineStopped(t *testing.T, e engine) {
	c := startEngine(t, e, "")
	m := c.waitState("tiny", "ready", 60*time.Second)
	pid := int(m["pid"].(float64))
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	c.Eventually("the frozen engine is replaced", 60*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["state"] == "ready" && int(m["pid"].(float64)) != pid
	})
	if m := c.modelState("tiny"); !strings.Contains(fmt.Sprint(m["last_exit"]), "probe") {
		t.Fatalf("last exit: %v", m["last_exit"])
	}
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("after the restart: %d %s", r.Status, r.Body)
	}
}

func TestEngineDrainsRequestsInFlightOnSIGTERM(t *testing.T) {
	forEachEngine(t, testEngineDrains)
}

func testEngineDrains(t *testing.T, e engine) {
	c := startEngine(t, e, "")
	m := c.waitState("tiny", "ready", 60*time.Second)
	backendPID := int(m["pid"].(float64))

	// Up to a thousand tokens each (a slot's context may end them sooner), end of sequence ignored: long enough
	// for /readyz to be polled and a new request refused after the signal while the three still generate.
	long := `{"model":"tiny","seed":3,"max_tokens":1000,"ignore_eos":true,"messages":[{"role":"user","content":"tell me everything"}]}`
	inflight := make(chan reply, 3)
	for range 3 {
		go func() { inflight <- c.post(context.Background(), "/v1/chat/completions", long) }()
	}
	c.Eventually("three requests in flight", 10*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["in_flight"].(float64) == 3
	})
	if err := c.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.Eventually("/readyz turns 503 while draining", 5*time.Second, func() bool { return c.getStatus("/readyz") == 503 })
	if r := c.chat(context.Background(), "tiny", false); r.Status != 503 || r.ErrorCode() != "shutting_down" {
		t.Fatalf("a new request while draining: %d %s", r.Status, r.Body)
	}
	for range 3 {
		r := proctest.Receive(t, "an in-flight request's answer", answerWithin, inflight)
		var out completion
		if r.Status != 200 || json.Unmarshal(r.Body, &out) != nil || len(out.Choices) != 1 || out.Choices[0].FinishReason != "length" {
			t.Fatalf("an in-flight request did not finish whole: %d %s %v", r.Status, proctest.Tail(string(r.Body), 300), r.Err)
		}
	}
	if err, ok := c.Wait(30 * time.Second); !ok || exitCode(err) != 0 {
		t.Fatalf("custos did not exit 0 after draining: exited %v, %v", ok, err)
	}
	if err := syscall.Kill(backendPID, 0); err == nil {
		t.Fatalf("%s %d still runs after custos exited", e.name, backendPID)
	}
}
