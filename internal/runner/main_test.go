package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
)

// The real-model tests share two runners, each started once per test binary on a model generated at run
// time: generating and loading once keeps the package's test time small.
const (
	testParallel = 4
	testCtxSize  = 8192 // 2048 tokens per slot
	testSeed     = 7
)

// fixture is a runner serving on 127.0.0.1.
type fixture struct {
	base string
	cfg  Config
	err  error
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[bool]*fixture{} // keyed by Config.Embeddings
	tempDir    string
	served     sync.WaitGroup
)

func TestMain(m *testing.M) {
	if model := os.Getenv(childRunnerEnv); model != "" {
		os.Exit(serveAsChild(model))
	}
	ctx, cancel := context.WithCancel(context.Background())
	testCtx = ctx
	code := m.Run()
	cancel()
	stopped := make(chan struct{})
	go func() {
		served.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(waitLimit):
		fmt.Fprintf(os.Stderr, "the shared runners' Serve did not return within %v of their context's end\n", waitLimit)
		code = 1
	}
	if tempDir != "" {
		_ = os.RemoveAll(tempDir)
	}
	os.Exit(code)
}

// waitLimit bounds the tests' waits for the runner: generous, because the
// machines running them are shared and noisy.
const waitLimit = 20 * time.Second

// testClient is for the tests' requests to a runner; its timeout, long
// enough for any generation here on a loaded machine, makes a runner that
// stops answering a failed request rather than a hung test.
// Each request has a connection of its own: the real llama-server (cpp-httplib), which some tests ask too,
// may close a kept-alive connection just as the next request goes out on it, and a POST that meets the
// close fails with EOF, which Go does not send again.
var testClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}

// probeClient is for the polls of /health: one unanswered poll must not
// outlast the poll's deadline.
var probeClient = &http.Client{Timeout: 2 * time.Second}

// testCtx bounds the shared runners' lives: TestMain cancels it when the tests are done.
var testCtx context.Context

// runnerFor returns the shared generation runner (embeddings false) or embeddings runner, starting it on
// first use and waiting until /health says it is ready.
func runnerFor(t *testing.T, embeddings bool) *fixture {
	t.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	f, ok := fixtures[embeddings]
	if !ok {
		f = startFixture(t, embeddings)
		fixtures[embeddings] = f
	}
	if f.err != nil {
		t.Fatal(f.err)
	}
	return f
}

func startFixture(t *testing.T, embeddings bool) *fixture {
	libDir := llamatest.LibDir(t)
	model, err := testModel()
	if err != nil {
		return &fixture{err: err}
	}
	cfg := Config{ModelPath: model, Alias: "tiny", CtxSize: testCtxSize, Parallel: testParallel,
		Embeddings: embeddings, Seed: testSeed, NPredict: -1, LibDir: libDir, QueueLimit: 8}
	return serveShared(cfg, "runner fixture")
}

// serveShared starts a runner with cfg that serves until the test binary ends, shared by the tests that
// ask for it, and waits until it is ready; a failure is kept in the fixture for each test to report.
func serveShared(cfg Config, name string) *fixture {
	srv, err := New(cfg, nil)
	if err != nil {
		return &fixture{err: err}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return &fixture{err: err}
	}
	f := &fixture{base: "http://" + ln.Addr().String(), cfg: srv.cfg}
	served.Add(1)
	go func() {
		defer served.Done()
		if err := srv.Serve(testCtx, ln); err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
		}
	}()
	f.err = waitReady(f.base, 60*time.Second)
	return f
}

var modelOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "custos-runner-test-")
	if err != nil {
		return "", err
	}
	tempDir = dir
	path := filepath.Join(dir, "tiny.gguf")
	return path, gguf.GenerateFile(path, gguf.GenOptions{Seed: 1})
})

// serveRunner runs a runner of its own on the test model (or on cfg.ModelPath when given), with cfg's
// settings on top (LibDir is filled in), until the test ends, and returns its base URL once it is ready.
func serveRunner(t *testing.T, cfg Config) string {
	t.Helper()
	if cfg.ModelPath == "" {
		model, err := testModel()
		if err != nil {
			t.Fatal(err)
		}
		cfg.ModelPath = model
	}
	cfg.LibDir = llamatest.LibDir(t)
	if cfg.Threads == 0 {
		// One thread, as the tests start llama-server with: llama.cpp's results depend on the thread
		// count in their last bits, and the comparisons need the same text for the same seed.
		cfg.Threads = 1
	}
	srv, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return within 20s of the stop")
		}
	})
	base := "http://" + ln.Addr().String()
	if err := waitReady(base, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return base
}

// testModel generates the small test model once.
func testModel() (string, error) { return modelOnce() }

// waitReady polls /health until 200, up to the deadline.
func waitReady(base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := probeClient.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("runner at %s not ready within %s", base, within)
}

// post sends body (a string is sent as is, anything else as JSON) and returns the status and the raw body.
func (f *fixture) post(t *testing.T, path string, body any) (int, []byte) {
	t.Helper()
	var raw []byte
	if s, ok := body.(string); ok {
		raw = []byte(s)
	} else {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := testClient.Post(f.base+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// postOK sends body, requires a 200 and decodes the answer into v.
func (f *fixture) postOK(t *testing.T, path string, body, v any) {
	t.Helper()
	status, out := f.post(t, path, body)
	if status != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, status, out)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("POST %s: %v in %s", path, err, out)
	}
}

// get fetches path and returns the status and body.
func (f *fixture) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := testClient.Get(f.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// streamEvents posts a streaming request and returns the JSON payload of every "data:" event (without the
// [DONE] marker) and whether the marker came. It fails the test if an event is not valid UTF-8.
func (f *fixture) streamEvents(t *testing.T, path string, body map[string]any) ([]json.RawMessage, bool) {
	t.Helper()
	body["stream"] = true
	status, raw := f.post(t, path, body)
	if status != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, status, raw)
	}
	var events []json.RawMessage
	done := false
	for _, block := range bytes.Split(raw, []byte("\n\n")) {
		block = bytes.TrimSpace(block)
		if len(block) == 0 {
			continue
		}
		data, ok := bytes.CutPrefix(block, []byte("data: "))
		if !ok {
			t.Fatalf("not an SSE data event: %q", block)
		}
		if !utf8.Valid(data) {
			t.Fatalf("event is not valid UTF-8: %q", data)
		}
		if string(data) == "[DONE]" {
			done = true
			continue
		}
		events = append(events, json.RawMessage(data))
	}
	return events, done
}

// metric reads one value from /metrics.
func (f *fixture) metric(t *testing.T, name string) float64 {
	t.Helper()
	_, body := f.get(t, "/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}
	}
	t.Fatalf("metric %s not in /metrics:\n%s", name, body)
	return 0
}

// slots reads /slots.
func (f *fixture) slots(t *testing.T) []slotSnapshot {
	t.Helper()
	status, body := f.get(t, "/slots")
	var s []slotSnapshot
	if status != http.StatusOK || json.Unmarshal(body, &s) != nil {
		t.Fatalf("/slots: %d %s", status, body)
	}
	return s
}

// chatBody is a one-message chat request with extra fields.
func chatBody(content string, extra map[string]any) map[string]any {
	body := map[string]any{"messages": []map[string]string{{"role": "user", "content": content}}}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// chatReply is the part of a chat completion the tests read.
type chatReply struct {
	Object  string `json:"object"`
	Choices []struct {
		Message      struct{ Role, Content string } `json:"message"`
		FinishReason string                         `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// nativeReply is the part of a /completion answer the tests read.
type nativeReply struct {
	Content         string `json:"content"`
	Stop            bool   `json:"stop"`
	StopType        string `json:"stop_type"`
	StoppingWord    string `json:"stopping_word"`
	TokensPredicted int    `json:"tokens_predicted"`
	TokensEvaluated int    `json:"tokens_evaluated"`
	IDSlot          int    `json:"id_slot"`
	Timings         struct {
		CacheN  int `json:"cache_n"`
		PromptN int `json:"prompt_n"`
	} `json:"timings"`
}
