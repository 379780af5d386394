package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// placement reads the placement and state of a model from /status.
func (c *custos) placement(model string) (state, reason string, loaded bool) {
	m := c.modelState(model)
	if m == nil {
		return "", "", false
	}
	state, _ = m["state"].(string)
	reason, _ = m["reason"].(string)
	if p, ok := m["placement"].(map[string]any); ok {
		loaded, _ = p["loaded"].(bool)
	}
	return state, reason, loaded
}

// A model loaded on demand starts unloaded — /health and /readyz still
// say custos can serve — loads for its first request, unloads after its
// ttl with the reason, and loads again for the next request.
func TestOnDemandModelLoadsForARequestAndUnloadsAfterItsTTL(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd(), "    load: on_demand\n    ttl: 1s\n"))
	c.waitState("tiny", "unloaded", 20*time.Second)
	if state, reason, _ := c.placement("tiny"); reason != "never loaded" {
		t.Fatalf("before its first request: %s (%s)", state, reason)
	}
	for _, path := range []string{"/health", "/readyz"} {
		if code, body := c.get(path); code != 200 {
			t.Fatalf("%s with the default model unloaded but loadable: %d %s", path, code, body)
		}
	}
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("the first request: %s", r)
	}
	c.waitState("tiny", "unloaded", 20*time.Second)
	if _, reason, _ := c.placement("tiny"); reason != "idle for 1s" {
		t.Fatalf("after the ttl: reason %q", reason)
	}
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("the request after the ttl unload: %s", r)
	}
	_, metrics := c.get("/metrics")
	for _, want := range []string{`custos_model_loads_total{model="tiny"} 2`, `custos_model_unloads_total{model="tiny",reason="idle"} 1`,
		`custos_model_load_duration_seconds_count{model="tiny"} 2`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Under a budget that holds two of three models (each holds 128 MiB, as a
// loaded model would), a request for the third evicts the least recently
// used idle one, which says so; the memory of loaded models is measured.
func TestBudgetForTwoEvictsTheLeastRecentlyUsed(t *testing.T) {
	model := func(id string) string {
		return fastModel(id, standinCmd("--hold-memory", "134217728"), "    load: on_demand\n    memory: 140MiB\n")
	}
	c := startCustos(t, "resources: {memory: 300MiB}\nmodels:\n"+model("a")+model("b")+model("c"))
	for _, id := range []string{"a", "b"} {
		if r := c.chat(context.Background(), id, false); r.Status != 200 {
			t.Fatalf("%s: %s", id, r)
		}
	}
	if r := c.chat(context.Background(), "c", false); r.Status != 200 {
		t.Fatalf("c: %s", r)
	}
	c.waitState("a", "unloaded", 20*time.Second)
	if _, reason, loaded := c.placement("a"); reason != "evicted for c" || loaded {
		t.Fatalf("a: reason %q, loaded %v", reason, loaded)
	}
	for _, id := range []string{"b", "c"} {
		if _, _, loaded := c.placement(id); !loaded {
			t.Fatalf("%s is not loaded", id)
		}
	}
	c.Eventually("the loaded models' memory to be measured", 20*time.Second, func() bool {
		var st struct {
			Models []struct {
				Model     string `json:"model"`
				Placement struct {
					Resident int64 `json:"resident"`
				} `json:"placement"`
			} `json:"models"`
		}
		_, body := c.get("/status")
		if json.Unmarshal(body, &st) != nil {
			return false
		}
		for _, m := range st.Models {
			if m.Model == "c" {
				return m.Placement.Resident >= 128<<20
			}
		}
		return false
	})
	out := c.cli(t, "ps")
	if !strings.Contains(out, "evicted for c") || !strings.Contains(out, "MEMORY") {
		t.Fatalf("custos ps:\n%s", out)
	}
}

// An unload asked during a stream waits for it: the stream completes, then
// the model unloads; the next request loads it again.
func TestUnloadDuringAStreamWaitsForIt(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--stream-chunks", "10", "--chunk-interval", "200ms"), ""))
	c.waitState("tiny", "ready", 20*time.Second)
	streamed := make(chan reply, 1)
	go func() { streamed <- c.chat(context.Background(), "tiny", true) }()
	c.Eventually("the stream to be in flight", 10*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["in_flight"].(float64) == 1
	})
	if out := c.cli(t, "unload", "tiny"); !strings.Contains(out, "unloading") {
		t.Fatalf("custos unload: %s", out)
	}
	if state, _, _ := c.placement("tiny"); state != "ready" {
		t.Fatalf("unloaded under a stream: %s", state)
	}
	r := <-streamed
	if r.Status != 200 || !strings.Contains(string(r.Body), "[DONE]") || strings.Contains(string(r.Body), "error") {
		t.Fatalf("the stream did not complete: %s", r)
	}
	c.waitState("tiny", "unloaded", 20*time.Second)
	if _, reason, _ := c.placement("tiny"); reason != "asked by cli" {
		t.Fatalf("reason %q", reason)
	}
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("the request after the unload: %s", r)
	}
	if out := c.cli(t, "load", "tiny"); !strings.Contains(out, "loading") {
		t.Fatalf("custos load: %s", out)
	}
}

// A backend that answers /health and fails every inference is caught by
// the answers it gives: unhealthy_after_errors 5xx in a row get it checked
// with a generation, which fails, and it is restarted under its budget.
func TestBackendFailingEveryInferenceIsCaughtAndRestarted(t *testing.T) {
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--fail-inference"), "    unhealthy_after_errors: 3\n    health_interval: 1h\n    health_timeout: 1s\n"))
	first := c.waitState("tiny", "ready", 20*time.Second)
	for range 3 {
		if r := c.chat(context.Background(), "tiny", false); r.Status != 500 {
			t.Fatalf("the failing backend's answer should pass through: %s", r)
		}
	}
	c.Eventually("the backend to be restarted", 20*time.Second, func() bool {
		m := c.modelState("tiny")
		return m != nil && m["restarts"].(float64) >= 1 && m["pid"] != first["pid"]
	})
	if m := c.modelState("tiny"); !strings.Contains(m["last_exit"].(string), "3 consecutive 5xx answers") {
		t.Fatalf("last exit: %v", m["last_exit"])
	}
}

// A load that crashes is retried under the restart budget, and the request
// that started it is served by the retry.
func TestCrashDuringAnOnDemandLoadIsRetriedForTheRequest(t *testing.T) {
	state := t.TempDir() + "/starts"
	c := startCustos(t, "models:\n"+fastModel("tiny", standinCmd("--fail-starts", "1", "--state-file", state, "--load-time", "200ms"), "    load: on_demand\n"))
	c.waitState("tiny", "unloaded", 20*time.Second)
	if r := c.chat(context.Background(), "tiny", false); r.Status != 200 {
		t.Fatalf("the request whose load crashed once: %s", r)
	}
	if m := c.modelState("tiny"); m["restarts"].(float64) < 1 {
		t.Fatalf("the crashed load was not retried: %v", m)
	}
}

// The GPU budget is placed like the memory budget: two models that each
// take 3 GiB of GPU memory (gpu_memory:, as a llama-server with -ngl
// would) do not fit in 4 GiB together, so the second evicts the first.
func TestGPUBudgetEvictsLikeTheMemoryBudget(t *testing.T) {
	model := func(id string) string {
		return fastModel(id, standinCmd(), "    load: on_demand\n    gpu_memory: 3GiB\n")
	}
	c := startCustos(t, "resources: {gpu_memory: 4GiB}\nmodels:\n"+model("a")+model("b"))
	for _, id := range []string{"a", "b"} {
		if r := c.chat(context.Background(), id, false); r.Status != 200 {
			t.Fatalf("%s: %s", id, r)
		}
	}
	c.waitState("a", "unloaded", 20*time.Second)
	if _, reason, _ := c.placement("a"); reason != "evicted for b" {
		t.Fatalf("a: %q", reason)
	}
	_, metrics := c.get("/metrics")
	if !strings.Contains(string(metrics), "custos_gpu_memory_budget_bytes 4.294967296e+09") {
		t.Fatalf("metrics lack the GPU budget:\n%.300s", metrics)
	}
}
