package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
	"custos/internal/proctest"
)

// manyModels are three generated models of different sizes, each with the
// memory the test budgets it at (above what its runner really takes, so
// that the budget, not the machine, decides what fits).
var manyModels = []struct {
	id          string
	dim, layers int
	memory      string
}{
	{"small", 64, 2, "100MiB"},
	{"medium", 128, 4, "150MiB"},
	{"large", 256, 4, "200MiB"},
}

// manyModelFiles generates the three models once per test binary.
var manyModelFiles = sync.OnceValues(func() (map[string]string, error) {
	out := map[string]string{}
	for i, m := range manyModels {
		path := filepath.Join(bins.Dir, fmt.Sprintf("%s-%dx%d.gguf", m.id, m.dim, m.layers))
		if err := gguf.GenerateFile(path, gguf.GenOptions{Dim: m.dim, Layers: m.layers, Seed: uint64(i + 1)}); err != nil {
			return nil, err
		}
		out[m.id] = path
	}
	return out, nil
})

// Three models on the real engine under a budget that holds two of them,
// 16 clients sending requests to one at random for a bounded time: every
// request is served, none is cut short, no model is unloaded with a
// request admitted to it (custos's own log says how many it had at each
// unload), and the swaps are counted.
func TestThreeModelsInABudgetForTwoServeEveryRequest(t *testing.T) {
	t.Setenv("CUSTOS_LLAMA_LIB_DIR", llamatest.LibDir(t))
	files, err := manyModelFiles()
	if err != nil {
		t.Fatal(err)
	}
	var yaml strings.Builder
	yaml.WriteString("resources: {memory: 360MiB}\nmodels:\n")
	for _, m := range manyModels {
		fmt.Fprintf(&yaml, "  %s:\n    backend: runner\n    model: %s\n    load: on_demand\n    memory: %s\n"+
			"    max_concurrency: 2\n    queue_max: 64\n    queue_timeout: 120s\n    ready_timeout: 60s\n    stop_timeout: 5s\n",
			m.id, files[m.id], m.memory)
	}
	c := startCustos(t, yaml.String())

	const clients = 16
	duration := 20 * time.Second
	var sent, okCount atomic.Int64
	var mu sync.Mutex
	failures := map[string]int{}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for time.Now().Before(deadline) {
				id := manyModels[rng.IntN(len(manyModels))].id
				sent.Add(1)
				body := fmt.Sprintf(`{"model":%q,"max_tokens":8,"messages":[{"role":"user","content":"hello %d"}]}`, id, i)
				r := proctest.Post(context.Background(), inferenceClient, c.URL("/v1/chat/completions"), body)
				if r.Status == 200 {
					okCount.Add(1)
					continue
				}
				mu.Lock()
				failures[fmt.Sprintf("%s: %s", id, r)]++
				mu.Unlock()
			}
		})
	}
	proctest.Receive(t, "the clients to finish", duration+3*time.Minute, proctest.Done(&wg))

	_, metrics := c.get("/metrics")
	evictions := sumMetric(string(metrics), `custos_model_unloads_total{`, `reason="evicted"`)
	loads := sumMetric(string(metrics), `custos_model_loads_total{`, "")
	interrupted := sumMetric(string(metrics), `custos_responses_interrupted_total{`, "")
	unloads, withRequests := unloadLines(t, c.Output.String())
	t.Logf("%d clients for %v: sent %d, ok %d, failed %d; %.0f loads, %.0f swaps (evictions), %d unloads logged",
		clients, duration, sent.Load(), okCount.Load(), sent.Load()-okCount.Load(), loads, evictions, unloads)
	if len(failures) > 0 {
		t.Fatalf("failed requests: %v", failures)
	}
	if interrupted != 0 {
		t.Fatalf("%v responses were cut short", interrupted)
	}
	if withRequests != 0 {
		t.Fatalf("%d unloads began with requests admitted to the model", withRequests)
	}
	if evictions == 0 || loads < 3 {
		t.Fatalf("three models in a budget for two never swapped: %v loads, %v evictions", loads, evictions)
	}
	if unloads != int(sumMetric(string(metrics), `custos_model_unloads_total{`, "")) {
		t.Fatalf("the log has %d unloads, the metrics %v", unloads, sumMetric(string(metrics), `custos_model_unloads_total{`, ""))
	}
}

// sumMetric adds the values of every series of a metric whose line holds
// label (all series when label is empty).
func sumMetric(text, prefix, label string) float64 {
	var total float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, prefix) || !strings.Contains(line, label) {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			total += v
		}
	}
	return total
}

// unloadLines counts custos's "unloading model" log records and those
// that had requests admitted (in_flight above 0).
func unloadLines(t *testing.T, output string) (unloads, withRequests int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg      string `json:"msg"`
			InFlight *int64 `json:"in_flight"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Msg != "unloading model" {
			continue
		}
		unloads++
		if rec.InFlight == nil || *rec.InFlight != 0 {
			withRequests++
		}
	}
	return unloads, withRequests
}
