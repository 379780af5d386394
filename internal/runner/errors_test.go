package runner

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custos/internal/llama/llamatest"
)

func mustJSON(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
}

// openAIError is the error shape every refusal must have.
type openAIError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

func TestBadRequestsGet400WithAnOpenAIError(t *testing.T) {
	f := runnerFor(t, false)
	longPrompt := make([]int, 2048) // a slot holds 2048 tokens: no room left to generate
	for i := range longPrompt {
		longPrompt[i] = 100 + i%50
	}
	for _, c := range []struct {
		name, path string
		body       any
		wantType   string
		wantText   string
	}{
		{"bad JSON", "/v1/chat/completions", `{"messages": [`, typeInvalidRequest, "invalid JSON"},
		{"wrong type", "/v1/chat/completions", `{"messages": "hello"}`, typeInvalidRequest, "messages"},
		{"wrong sampling type", "/v1/completions", `{"prompt": "x", "max_tokens": "many"}`, typeInvalidRequest, "max_tokens"},
		{"empty messages", "/v1/chat/completions", `{"messages": []}`, typeInvalidRequest, "messages"},
		{"missing prompt", "/completion", `{"n_predict": 3}`, typeInvalidRequest, "prompt"},
		{"oversized prompt", "/completion", map[string]any{"prompt": longPrompt}, typeExceedContext, "context"},
		{"token outside the vocabulary", "/detokenize", `{"tokens": [1, 99999999]}`, typeInvalidRequest, "vocabulary"},
		{"negative max_tokens", "/v1/chat/completions", chatBody("x", map[string]any{"max_tokens": -5}), typeInvalidRequest, "max_tokens"},
	} {
		status, body := f.post(t, c.path, c.body)
		var e openAIError
		if status != http.StatusBadRequest || json.Unmarshal(body, &e) != nil {
			t.Errorf("%s: status %d body %s, want 400 JSON", c.name, status, body)
			continue
		}
		if e.Error.Code != 400 || e.Error.Type != c.wantType || !strings.Contains(e.Error.Message, c.wantText) {
			t.Errorf("%s: error %+v, want type %s mentioning %q", c.name, e.Error, c.wantType, c.wantText)
		}
	}
}

func TestUnknownPathIs404InOpenAIShape(t *testing.T) {
	f := runnerFor(t, false)
	status, body := f.get(t, "/v1/nothing")
	var e openAIError
	if status != http.StatusNotFound || json.Unmarshal(body, &e) != nil || e.Error.Code != 404 {
		t.Fatalf("status %d body %s", status, body)
	}
}

func TestTokenizeRoundTripsAndInfoEndpoints(t *testing.T) {
	f := runnerFor(t, false)
	if status, body := f.get(t, "/health"); status != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("ready /health: %d %s; want 200 {\"status\":\"ok\"}", status, body)
	}
	var tok struct {
		Tokens []int `json:"tokens"`
	}
	f.postOK(t, "/tokenize", map[string]any{"content": "hello world"}, &tok)
	if len(tok.Tokens) == 0 {
		t.Fatal("no tokens")
	}
	var detok struct {
		Content string `json:"content"`
	}
	f.postOK(t, "/detokenize", map[string]any{"tokens": tok.Tokens}, &detok)
	if strings.TrimSpace(detok.Content) != "hello world" {
		t.Fatalf("detokenized %q", detok.Content)
	}
	var props struct {
		TotalSlots int `json:"total_slots"`
		Settings   struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
		ChatTemplate string `json:"chat_template"`
	}
	_, body := f.get(t, "/props")
	mustJSON(t, body, &props)
	if props.TotalSlots != testParallel || props.Settings.NCtx != testCtxSize/testParallel || props.ChatTemplate == "" {
		t.Fatalf("props %s", body)
	}
	var models struct {
		Data []struct{ ID string } `json:"data"`
	}
	_, body = f.get(t, "/v1/models")
	mustJSON(t, body, &models)
	if len(models.Data) != 1 || models.Data[0].ID != "tiny" {
		t.Fatalf("models %s", body)
	}
	if len(f.slots(t)) != testParallel {
		t.Fatal("wrong slot count")
	}
}

// A file that is not a model must end Serve with an error (the command then exits 1), not leave a server
// answering "Loading model" forever.
func TestLoadFailureEndsServe(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "broken.gguf")
	if err := os.WriteFile(bad, []byte("GGUF but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := serveError(t, Config{ModelPath: bad, LibDir: llamatest.LibDir(t)}); err == nil ||
		!strings.Contains(err.Error(), "broken.gguf") {
		t.Fatalf("Serve returned %v, want the load error naming the file", err)
	}
}

// serveError serves cfg on a loopback port and returns what Serve ends with, failing the test when it is
// still serving 20 s on: the tests give it a load that must fail.
func serveError(t *testing.T, cfg Config) error {
	t.Helper()
	srv, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("Serve of %s still running 20 s after a load that must fail", filepath.Base(cfg.ModelPath))
		return nil
	}
}
