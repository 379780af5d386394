package runner

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"custos/internal/gguf"
)

// loraAdapterFile generates a LoRA adapter for the test model once per test.
func loraAdapterFile(t *testing.T, seed uint64) string {
	t.Helper()
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "adapter.gguf")
	if err := gguf.GenerateLoRAFile(path, model, gguf.LoRAOptions{Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return path
}

// loraRunner serves the test model with one generated adapter at scale (two slots), and returns its base
// URL with the adapter's path.
func loraRunner(t *testing.T, cfg Config, scale float32) (string, string) {
	t.Helper()
	adapter := loraAdapterFile(t, 3)
	cfg.LoRA = []LoRASpec{{Path: adapter, Scale: scale}}
	if cfg.Parallel == 0 {
		cfg.Parallel = 2
	}
	cfg.CtxSize, cfg.NPredict, cfg.Seed = 1024, -1, testSeed
	return serveRunner(t, cfg), adapter
}

// postTo sends body as JSON to base+path and returns the status and body.
func postTo(t *testing.T, base, path string, body any) (int, []byte) {
	t.Helper()
	return (&fixture{base: base}).post(t, path, body)
}

// seededCompletion is a /completion long and seeded enough that an adapter's change of the logits shows.
func seededCompletion(extra map[string]any) map[string]any {
	body := map[string]any{"prompt": "Once upon a time", "n_predict": 24, "seed": 11, "temperature": 1,
		"ignore_eos": true}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// completionOf runs a /completion and returns its text and how many prompt tokens came from the cache.
func completionOf(t *testing.T, base string, body map[string]any) (string, int) {
	t.Helper()
	status, raw := postTo(t, base, "/completion", body)
	if status != http.StatusOK {
		t.Fatalf("POST /completion %v: %d %s", body, status, raw)
	}
	var out struct {
		Content string `json:"content"`
		Timings struct {
			CacheN int `json:"cache_n"`
		} `json:"timings"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	return out.Content, out.Timings.CacheN
}

// baseCompletion is the seeded completion of the test model without adapters.
func baseCompletion(t *testing.T, body map[string]any) string {
	t.Helper()
	base := serveRunner(t, Config{Parallel: 2, CtxSize: 1024, NPredict: -1, Seed: testSeed})
	text, _ := completionOf(t, base, body)
	return text
}

func TestLoRAAtScaleChangesSeededOutput(t *testing.T) {
	want := baseCompletion(t, seededCompletion(nil))
	base, _ := loraRunner(t, Config{}, 1)
	adapted, _ := completionOf(t, base, seededCompletion(nil))
	if adapted == want {
		t.Fatalf("the adapter at scale 1 gave the base model's text %q", want)
	}
	if off, _ := completionOf(t, base, seededCompletion(map[string]any{"lora": []map[string]any{{"id": 0, "scale": 0}}})); off != want {
		t.Errorf("the request's scale 0 gave %q, want the base model's %q", off, want)
	}
	if again, _ := completionOf(t, base, seededCompletion(nil)); again != adapted {
		t.Errorf("the global scale after a request of its own: %q, want %q", again, adapted)
	}
	// Not listing the adapter in a non-empty list sets it to 0; chat and the OpenAI completions read the
	// field too.
	status, raw := postTo(t, base, "/v1/completions", map[string]any{"prompt": "Once upon a time", "max_tokens": 24,
		"seed": 11, "temperature": 1, "ignore_eos": true, "lora": []map[string]any{{"id": 0, "scale": 0}}})
	var oa struct {
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &oa) != nil || len(oa.Choices) != 1 || oa.Choices[0].Text != want {
		t.Errorf("/v1/completions at scale 0: %d %s, want the text %q", status, raw, want)
	}
}

func TestLoRARequestOverridesGlobalScale(t *testing.T) {
	base, _ := loraRunner(t, Config{LoRAInitWithoutApply: true}, 1)
	want := baseCompletion(t, seededCompletion(nil))
	if off, _ := completionOf(t, base, seededCompletion(nil)); off != want {
		t.Fatalf("under --lora-init-without-apply: %q, want the base model's %q", off, want)
	}
	on, _ := completionOf(t, base, seededCompletion(map[string]any{"lora": []map[string]any{{"id": 0, "scale": 1}}}))
	if on == want {
		t.Fatal("the request's scale 1 gave the base model's text")
	}
	half, _ := completionOf(t, base, seededCompletion(map[string]any{"lora": []map[string]any{{"id": 0, "scale": 0.5}}}))
	if half == want || half == on {
		t.Errorf("scale 0.5 gave the text of scale 0 or 1: %q", half)
	}
	// The request's list shows in its generation settings.
	status, raw := postTo(t, base, "/completion", seededCompletion(map[string]any{"n_predict": 1,
		"lora": []map[string]any{{"id": 0, "scale": 0.5}}}))
	if status != http.StatusOK || !strings.Contains(string(raw), `"lora":[{"id":0,"scale":0.5}]`) {
		t.Errorf("generation_settings of a request with a lora list: %d %s", status, raw)
	}
}

func TestLoRAAdaptersPostThenGet(t *testing.T) {
	base, adapter := loraRunner(t, Config{}, 0.75)
	list := func() []map[string]any {
		t.Helper()
		resp, err := testClient.Get(base + "/lora-adapters")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []map[string]any
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("GET /lora-adapters: %d", resp.StatusCode)
		}
		return out
	}
	got := list()
	if len(got) != 1 || got[0]["id"] != 0.0 || got[0]["path"] != adapter || got[0]["scale"] != 0.75 ||
		got[0]["task_name"] != "" || got[0]["prompt_prefix"] != "" {
		t.Fatalf("GET /lora-adapters: %v", got)
	}
	adapted, _ := completionOf(t, base, seededCompletion(nil))
	if status, raw := postTo(t, base, "/lora-adapters", []map[string]any{{"id": 0, "scale": 0}}); status != http.StatusOK ||
		strings.TrimSpace(string(raw)) != `{"success":true}` {
		t.Fatalf("POST /lora-adapters: %d %s", status, raw)
	}
	if got := list(); got[0]["scale"] != 0.0 {
		t.Errorf("after POST scale 0: %v", got)
	}
	want := baseCompletion(t, seededCompletion(nil))
	if off, _ := completionOf(t, base, seededCompletion(nil)); off != want {
		t.Errorf("after POST scale 0: %q, want the base model's %q", off, want)
	}
	// An empty list sets every adapter to 0 too; listing it again restores the first text.
	postTo(t, base, "/lora-adapters", []any{})
	postTo(t, base, "/lora-adapters", []map[string]any{{"id": 0, "scale": 0.75}})
	if on, _ := completionOf(t, base, seededCompletion(nil)); on != adapted {
		t.Errorf("after POST scale 0.75 again: %q, want %q", on, adapted)
	}
}

// Requests running with different scales at the same time get the text each gets alone: they never share
// a decode, in which llama.cpp would apply one set of adapters to both.
func TestLoRAConcurrentScalesMatchSeparateRuns(t *testing.T) {
	base, _ := loraRunner(t, Config{}, 1)
	bodies := []map[string]any{
		seededCompletion(map[string]any{"n_predict": 48}),
		seededCompletion(map[string]any{"n_predict": 48, "lora": []map[string]any{{"id": 0, "scale": 0}}}),
	}
	alone := make([]string, len(bodies))
	for i, b := range bodies {
		alone[i], _ = completionOf(t, base, b)
	}
	if alone[0] == alone[1] {
		t.Fatal("scales 1 and 0 gave the same text")
	}
	for round := range 3 {
		together := make([]string, len(bodies))
		var wg sync.WaitGroup
		for i, b := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A prompt of its own per round keeps the cache from shortening one request's prompt.
				b = seededCompletion(map[string]any{"n_predict": 48, "lora": b["lora"], "cache_prompt": false})
				together[i], _ = completionOf(t, base, b)
			}()
		}
		wg.Wait()
		for i := range bodies {
			if together[i] != alone[i] {
				t.Errorf("round %d, request %d run alongside the other: %q, alone %q", round, i, together[i], alone[i])
			}
		}
	}
}

// A slot's cache is reused only by a request with the scales it was computed with.
func TestLoRACacheReusedOnlyAtSameScales(t *testing.T) {
	base, _ := loraRunner(t, Config{Parallel: 1}, 1)
	want := baseCompletion(t, seededCompletion(nil))
	completionOf(t, base, seededCompletion(nil))
	_, cached := completionOf(t, base, seededCompletion(nil))
	if cached == 0 {
		t.Fatal("the same prompt at the same scales reused nothing of the cache")
	}
	off, cached := completionOf(t, base, seededCompletion(map[string]any{"lora": []map[string]any{{"id": 0, "scale": 0}}}))
	if cached != 0 || off != want {
		t.Errorf("at scale 0 after scale 1: %d tokens from the cache and %q; want 0 and the base model's %q", cached, off, want)
	}
}

func TestLoRABadInputIs400(t *testing.T) {
	base, _ := loraRunner(t, Config{}, 1)
	for _, c := range []struct {
		path string
		body any
		want string
	}{
		{"/completion", seededCompletion(map[string]any{"lora": "adapter"}), `"lora" must be an array`},
		{"/completion", seededCompletion(map[string]any{"lora": []any{1}}), `"lora"[0] must be an object`},
		{"/completion", seededCompletion(map[string]any{"lora": []map[string]any{{"id": 1, "scale": 1}}}), `"lora"[0]: no LoRA adapter with id 1`},
		{"/completion", seededCompletion(map[string]any{"lora": []map[string]any{{"scale": 1}}}), `"lora"[0] has no "id"`},
		{"/completion", seededCompletion(map[string]any{"lora": []map[string]any{{"id": 0.5}}}), `no LoRA adapter with id 0.5`},
		{"/completion", seededCompletion(map[string]any{"lora": []map[string]any{{"id": 0, "scale": "big"}}}), `"scale" must be a finite number`},
		{"/completion", seededCompletion(map[string]any{"lora": []map[string]any{{"id": 0, "scale": "0.5"}}}), `"scale" must be a finite number, got "0.5"`},
		{"/completion", seededCompletion(map[string]any{"lora": []map[string]any{{"id": "0", "scale": 1}}}), `no LoRA adapter with id "0"`},
		{"/completion", seededCompletion(map[string]any{"lora": []map[string]any{{"id": 0, "scale": 1e39}}}), `"scale" must be a finite number`},
		{"/v1/chat/completions", chatBody("hi", map[string]any{"lora": []map[string]any{{"id": -1, "scale": 1}}}), `no LoRA adapter with id -1`},
		{"/lora-adapters", map[string]any{"id": 0, "scale": 1}, "Request body must be an array"},
		{"/lora-adapters", []map[string]any{{"id": 2, "scale": 1}}, "no LoRA adapter with id 2"},
		{"/lora-adapters", []any{"x"}, "must be an object"},
	} {
		status, raw := postTo(t, base, c.path, c.body)
		if msg, _ := errorOf(t, raw); status != http.StatusBadRequest || !strings.Contains(msg, c.want) {
			t.Errorf("POST %s %v: %d %s, want 400 saying %s", c.path, c.body, status, raw, c.want)
		}
	}
	resp, err := testClient.Get(base + "/lora-adapters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []map[string]any
	if json.NewDecoder(resp.Body).Decode(&got) != nil || len(got) != 1 || got[0]["scale"] != 1.0 {
		t.Errorf("the refused updates changed the adapters: %v", got)
	}
}

// Without --lora the list is empty, an empty update succeeds, and naming an adapter is the client's error.
func TestLoRAWithoutAdapters(t *testing.T) {
	f := runnerFor(t, false)
	if code, body := f.get(t, "/lora-adapters"); code != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("GET /lora-adapters: %d %s", code, body)
	}
	if code, body := f.post(t, "/lora-adapters", []any{}); code != http.StatusOK {
		t.Fatalf("POST /lora-adapters []: %d %s", code, body)
	}
	for path, body := range map[string]any{
		"/lora-adapters": []any{map[string]any{"id": 0, "scale": 0.5}},
		"/completion":    map[string]any{"prompt": "hi", "n_predict": 1, "lora": []any{map[string]any{"id": 0, "scale": 1}}},
	} {
		code, raw := f.post(t, path, body)
		if msg, _ := errorOf(t, raw); code != http.StatusBadRequest || !strings.Contains(msg, "the runner loads none") {
			t.Errorf("POST %s naming adapter 0: %d %s", path, code, raw)
		}
	}
	if code, raw := f.post(t, "/completion", map[string]any{"prompt": "hi", "n_predict": 1, "lora": []any{}}); code != http.StatusOK {
		t.Errorf("lora [] without adapters: %d %s", code, raw)
	}
}

// A restored slot file is taken to be of the global scales: a request at other scales does not reuse it.
func TestLoRARestoredSlotIsOfTheGlobalScales(t *testing.T) {
	base, _ := loraRunner(t, Config{Parallel: 1, SlotSavePath: t.TempDir()}, 1)
	want := baseCompletion(t, seededCompletion(nil))
	completionOf(t, base, seededCompletion(nil))
	if status, raw := postTo(t, base, "/slots/0?action=save", map[string]any{"filename": "adapted.bin"}); status != http.StatusOK {
		t.Fatalf("save: %d %s", status, raw)
	}
	off := map[string]any{"lora": []map[string]any{{"id": 0, "scale": 0}}}
	completionOf(t, base, seededCompletion(off))
	if status, raw := postTo(t, base, "/slots/0?action=restore", map[string]any{"filename": "adapted.bin"}); status != http.StatusOK {
		t.Fatalf("restore: %d %s", status, raw)
	}
	text, cached := completionOf(t, base, seededCompletion(off))
	if cached != 0 || text != want {
		t.Errorf("at scale 0 on a slot restored from scale 1: %d tokens from the cache and %q; want 0 and %q", cached, text, want)
	}
	if _, cached := completionOf(t, base, seededCompletion(nil)); cached != 0 {
		t.Errorf("the scale-0 request's own cache was reused at scale 1: %d tokens", cached)
	}
}
