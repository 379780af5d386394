package runner

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Before the model is ready every route answers llama-server's loading 503 with the load progress.
func TestLoadingAnswers503WithProgress(t *testing.T) {
	s, err := New(Config{ModelPath: "model.gguf"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.progress.Store(math.Float32bits(0.25))
	h := s.routes()
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/health", nil),
		httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil),
		httptest.NewRequest(http.MethodGet, "/v1/models", nil),
		httptest.NewRequest(http.MethodGet, "/lora-adapters", nil),
		httptest.NewRequest(http.MethodPost, "/lora-adapters", nil),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s: status %d, want 503", req.URL.Path, rec.Code)
		}
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
			Progress float64 `json:"progress"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body.Error.Code != 503 || body.Error.Message != "Loading model" || body.Error.Type != "unavailable_error" || body.Progress != 0.25 {
			t.Fatalf("%s: body %s", req.URL.Path, rec.Body)
		}
	}
}

func TestConfigDefaultsAndChecks(t *testing.T) {
	c, err := Config{ModelPath: "/m/tiny.gguf"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Alias != "tiny" || c.Parallel != 1 || c.BatchSize != defaultBatchSize || c.Threads < 1 || c.QueueLimit != defaultQueueLimit {
		t.Fatalf("defaults = %+v", c)
	}
	for name, bad := range map[string]Config{
		"no model":                 {},
		"negative threads":         {ModelPath: "m", Threads: -1},
		"batch smaller than slots": {ModelPath: "m", Parallel: 8, BatchSize: 4},
		"n-predict below -1":       {ModelPath: "m", NPredict: -3},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDefaultThreadsAreOneOnSmallMachines(t *testing.T) {
	if DefaultThreads(1) != 1 || DefaultThreads(2) != 1 || DefaultThreads(4) != 2 || DefaultThreads(8) != 4 {
		t.Fatalf("DefaultThreads: 1→%d 2→%d 4→%d 8→%d", DefaultThreads(1), DefaultThreads(2), DefaultThreads(4), DefaultThreads(8))
	}
}
