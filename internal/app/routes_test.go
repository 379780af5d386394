package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custos/internal/config"
)

// llama-server's inference paths outside /v1 (/tokenize, /infill, ...)
// reach the gateway, behind the same API keys as /v1: a request naming an
// unknown model is the gateway's 404 model_not_found, not unknown_route,
// and one without a key is refused.
func TestRootInferencePathsReachTheGateway(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CUSTOS_TEST_API_KEYS", "k")
	cfg, err := config.Parse([]byte("listen: 127.0.0.1:0\nstore: {path: "+filepath.Join(dir, "custos.db")+"}\nauth: {api_keys_env: CUSTOS_TEST_API_KEYS}\n"+
		"models:\n  tiny:\n    backend: llama-server\n    cmd: [sleep, \"3600\", \"${HOST}\", \"${PORT}\"]\n    load: on_demand\n    stop_timeout: 1s\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a string) { addrs <- a }})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not stop within 30s")
		}
	}()
	var addr string
	select {
	case addr = <-addrs:
	case <-time.After(30 * time.Second):
		t.Fatal("custos did not listen within 30s")
	}
	post := func(path, key string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+addr+path, strings.NewReader(`{"model":"nope"}`))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/tokenize", "/infill", "/completion", "/apply-template", "/v1/messages"} {
		deadline := time.Now().Add(10 * time.Second)
		status, body := post(path, "k")
		for status == 503 && time.Now().Before(deadline) { // the gate opens once the store is open
			time.Sleep(10 * time.Millisecond)
			status, body = post(path, "k")
		}
		if status != 404 || !strings.Contains(body, "model_not_found") {
			t.Errorf("%s: got %d %s", path, status, body)
		}
		if status, body := post(path, ""); status != 401 {
			t.Errorf("%s without a key: got %d %s", path, status, body)
		}
	}
}
