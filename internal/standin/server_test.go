package standin

import (
	"custos/internal/proctest"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const chatBody = `{"messages":[{"role":"user","content":"one two three four"}]}`

func TestPhaseAtRisesLinearlyThenReady(t *testing.T) {
	start := time.Unix(1000, 0)
	cases := []struct {
		at       time.Duration
		loading  bool
		progress float64
	}{
		{0, true, 0},
		{time.Second, true, 0.25},
		{2 * time.Second, true, 0.5},
		{4 * time.Second, false, 0},
		{9 * time.Second, false, 0},
	}
	for _, c := range cases {
		got := phaseAt(start, 4*time.Second, start.Add(c.at))
		if got.loading != c.loading || got.progress != c.progress {
			t.Errorf("at %v: got %+v, want loading=%v progress=%v", c.at, got, c.loading, c.progress)
		}
	}
	if got := phaseAt(start, 0, start); got.loading {
		t.Errorf("no load time: got loading")
	}
}

func TestHealthReportsLoadingWithProgress(t *testing.T) {
	url, _ := startInProcess(t, Options{LoadTime: time.Hour})
	resp, err := testClient.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	m := decode(t, resp)
	e, _ := m["error"].(map[string]any)
	if e["message"] != "Loading model" || e["type"] != "unavailable_error" || e["code"] != 503.0 {
		t.Errorf("error = %v", m["error"])
	}
	if p, ok := m["progress"].(float64); !ok || p < 0 || p >= 1 {
		t.Errorf("progress = %v, want in [0,1)", m["progress"])
	}
}

func TestHealthBecomesReadyAfterLoad(t *testing.T) {
	url, _ := startInProcess(t, Options{LoadTime: 50 * time.Millisecond})
	eventually(t, "health 200", func() bool {
		resp, err := testClient.Get(url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func TestLoadingGatesEveryOtherRoute(t *testing.T) {
	url, _ := startInProcess(t, Options{LoadTime: time.Hour})
	for _, path := range []string{"/v1/chat/completions", "/v1/completions", "/completion", "/v1/embeddings"} {
		resp, err := post(t, nil, url+path, chatBody)
		if err != nil {
			t.Fatal(err)
		}
		if m := decode(t, resp); resp.StatusCode != 503 || m["progress"] == nil {
			t.Errorf("%s: status %d body %v, want loading 503", path, resp.StatusCode, m)
		}
	}
	resp, err := testClient.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("/v1/models: status %d, want 503", resp.StatusCode)
	}
	resp, err = testClient.Get(url + "/_standin/info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/_standin/info while loading: status %d, want 200", resp.StatusCode)
	}
}

func TestHangHealthDuringLoadNeverAnswers(t *testing.T) {
	url, _ := startInProcess(t, Options{LoadTime: time.Hour, HangHealthDuringLoad: true})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	if resp, err := c.Get(url + "/health"); err == nil {
		resp.Body.Close()
		t.Fatalf("health answered %d while it should hang", resp.StatusCode)
	}
}

func TestCrashDuringLoadExits(t *testing.T) {
	_, exits := startInProcess(t, Options{LoadTime: 100 * time.Millisecond, CrashDuringLoad: true})
	if code := exits.waitExit(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestCrashAfterReadyExits(t *testing.T) {
	_, exits := startInProcess(t, Options{CrashAfter: 20 * time.Millisecond})
	if code := exits.waitExit(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestHangAfterStopsAnswering(t *testing.T) {
	url, _ := startInProcess(t, Options{HangAfter: 20 * time.Millisecond})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	eventually(t, "requests hang", func() bool {
		resp, err := c.Get(url + "/health")
		if err != nil {
			return true
		}
		resp.Body.Close()
		return false
	})
}

func TestControlHangStopsAnswering(t *testing.T) {
	url, _ := startInProcess(t, Options{})
	// The hang route never answers: it is left waiting until the server
	// closes at the end of the test.
	answered := make(chan int, 1)
	go func() {
		if resp, err := post(t, nil, url+"/_standin/hang", ""); err == nil {
			resp.Body.Close()
			answered <- resp.StatusCode
		}
	}()
	c := &http.Client{Timeout: time.Second}
	eventually(t, "info to stop answering after the hang route", func() bool {
		select {
		case status := <-answered:
			t.Fatalf("hang route answered %d", status)
		default:
		}
		resp, err := c.Get(url + "/_standin/info")
		if err != nil {
			return true
		}
		resp.Body.Close()
		return false
	})
	select {
	case status := <-answered:
		t.Fatalf("hang route answered %d", status)
	default:
	}
}

func TestControlCrashExits(t *testing.T) {
	url, exits := startInProcess(t, Options{})
	if resp, err := post(t, nil, url+"/_standin/crash", ""); err == nil {
		resp.Body.Close()
		t.Errorf("crash route answered %d", resp.StatusCode)
	}
	if code := exits.waitExit(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestCrashOnRequestExitsBeforeAnswering(t *testing.T) {
	url, exits := startInProcess(t, Options{CrashOnRequest: true})
	if resp, err := post(t, nil, url+"/v1/chat/completions", chatBody); err == nil {
		resp.Body.Close()
		t.Errorf("completion answered %d", resp.StatusCode)
	}
	if code := exits.waitExit(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestResponseDelayHoldsAnswer(t *testing.T) {
	url, _ := startInProcess(t, Options{ResponseDelay: time.Hour})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	for path, body := range map[string]string{"/v1/chat/completions": chatBody, "/v1/completions": `{"stream":true,"prompt":"x"}`} {
		if resp, err := post(t, c, url+path, body); err == nil {
			resp.Body.Close()
			t.Errorf("%s %s: answered %d despite delay", path, body, resp.StatusCode)
		}
	}
}

func TestChatCompletionIsDeterministic(t *testing.T) {
	url, _ := startInProcess(t, Options{Alias: "tiny"})
	resp, err := post(t, nil, url+"/v1/chat/completions", chatBody)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Standin-Pid") == "" {
		t.Error("missing X-Standin-Pid")
	}
	var got struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || got.Model != "tiny" || got.ID == "" || got.Created == 0 {
		t.Errorf("envelope = %+v", got)
	}
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != "standin reply 4" ||
		got.Choices[0].Message.Role != "assistant" || got.Choices[0].FinishReason != "stop" {
		t.Errorf("choices = %+v", got.Choices)
	}
	if got.Usage.TotalTokens == 0 {
		t.Error("usage missing")
	}
}

func TestTextCompletionRoutes(t *testing.T) {
	url, _ := startInProcess(t, Options{})
	resp, err := post(t, nil, url+"/v1/completions", `{"prompt":"a b"}`)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, resp)
	choices, _ := m["choices"].([]any)
	if m["object"] != "text_completion" || len(choices) != 1 {
		t.Fatalf("/v1/completions: body %v", m)
	}
	if c := choices[0].(map[string]any); c["text"] != "standin reply 2" || c["finish_reason"] != "stop" {
		t.Errorf("/v1/completions: choice %v", c)
	}
}

// /completion answers in llama-server's native shape, not OpenAI's.
func TestNativeCompletionAnswersInLlamaServersShape(t *testing.T) {
	url, _ := startInProcess(t, Options{})
	resp, err := post(t, nil, url+"/completion", `{"prompt":"a b","n_predict":1}`)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, resp)
	if m["content"] != "standin reply 2" || m["stop"] != true || m["stop_type"] != "eos" || m["tokens_evaluated"] != 2.0 || m["choices"] != nil {
		t.Fatalf("/completion: body %v", m)
	}
}

// llama-server's JSON parser throws on a body that is not JSON, which it answers 500 server_error; a chat
// without messages or a completion without a prompt is a 400.
func TestRefusedBodiesAnswerAsLlamaServer(t *testing.T) {
	url, _ := startInProcess(t, Options{})
	for _, c := range []struct {
		path, body, wantType string
		wantStatus           int
	}{
		{"/v1/chat/completions", `{"messages":`, "server_error", 500},
		{"/v1/embeddings", `{"input":`, "server_error", 500},
		{"/v1/chat/completions", `{}`, "invalid_request_error", 400},
		{"/v1/completions", `{"max_tokens":3}`, "invalid_request_error", 400},
		{"/completion", `{}`, "invalid_request_error", 400},
		{"/v1/embeddings", `{}`, "invalid_request_error", 400},
	} {
		resp, err := post(t, nil, url+c.path, c.body)
		if err != nil {
			t.Fatal(err)
		}
		m := decode(t, resp)
		if e, _ := m["error"].(map[string]any); resp.StatusCode != c.wantStatus || e["type"] != c.wantType || e["code"] != float64(c.wantStatus) {
			t.Errorf("%s %s: status %d body %v, want %d %s", c.path, c.body, resp.StatusCode, m, c.wantStatus, c.wantType)
		}
	}
}

// An unknown path, or a known one with another method, is llama-server's JSON 404, and every answer names
// llama.cpp as its server with llama-server's JSON media type.
func TestUnknownRoutesAre404AsLlamaServer(t *testing.T) {
	url, _ := startInProcess(t, Options{})
	for _, target := range []string{"GET /no/such/route", "GET /v1/chat/completions", "POST /health"} {
		method, path, _ := strings.Cut(target, " ")
		req, _ := http.NewRequest(method, url+path, nil)
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if ct, server := resp.Header.Get("Content-Type"), resp.Header.Get("Server"); ct != "application/json; charset=utf-8" || server != "llama.cpp" {
			t.Errorf("%s: Content-Type %q, Server %q", target, ct, server)
		}
		m := decode(t, resp)
		if e, _ := m["error"].(map[string]any); resp.StatusCode != 404 || e["type"] != "not_found_error" || e["message"] != "File Not Found" {
			t.Errorf("%s: status %d body %v", target, resp.StatusCode, m)
		}
	}
}

func TestStreamWritesChunksThenDone(t *testing.T) {
	url, _ := startInProcess(t, Options{StreamChunks: 5})
	resp, err := post(t, nil, url+"/v1/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"a b c"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	events := readEvents(resp.Body)
	if len(events) != 6 || events[5] != "[DONE]" {
		t.Fatalf("events = %q, want 5 chunks then [DONE]", events)
	}
	var text strings.Builder
	for i, ev := range events[:5] {
		var c struct {
			Object  string
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if c.Object != "chat.completion.chunk" {
			t.Errorf("chunk %d object %q", i, c.Object)
		}
		if last := i == 4; last != (c.Choices[0].FinishReason != nil) {
			t.Errorf("chunk %d finish_reason %v", i, c.Choices[0].FinishReason)
		}
		text.WriteString(c.Choices[0].Delta.Content)
	}
	if text.String() != "standin reply 3" {
		t.Errorf("streamed text %q", text.String())
	}
}

func TestChunkIntervalSpacesChunks(t *testing.T) {
	url, _ := startInProcess(t, Options{ChunkInterval: time.Hour})
	resp, err := post(t, nil, url+"/v1/chat/completions", `{"stream":true,"messages":[]}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	n, err := resp.Body.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "data: ") {
		t.Fatalf("first chunk: %q, %v", buf[:n], err)
	}
	got := make(chan struct{})
	go func() {
		resp.Body.Read(buf)
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("second chunk arrived despite an hour interval")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestCrashMidStreamExitsAfterNChunks(t *testing.T) {
	url, exits := startInProcess(t, Options{StreamChunks: 8, CrashMidStream: 3})
	resp, err := post(t, nil, url+"/v1/chat/completions", `{"stream":true,"messages":[]}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if events := readEvents(resp.Body); len(events) != 3 {
		t.Errorf("events = %q, want exactly 3 chunks and no [DONE]", events)
	}
	if code := exits.waitExit(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

func TestEmbeddingsOneVectorPerInput(t *testing.T) {
	url, _ := startInProcess(t, Options{})
	resp, err := post(t, nil, url+"/v1/embeddings", `{"input":["a","b c","d"]}`)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Data []struct {
			Index     int
			Embedding []float64
		}
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 3 {
		t.Fatalf("got %d vectors, want 3", len(got.Data))
	}
	for i, d := range got.Data {
		if d.Index != i || len(d.Embedding) != 8 {
			t.Errorf("vector %d: index %d len %d", i, d.Index, len(d.Embedding))
		}
	}
}

func TestModelsReportsAlias(t *testing.T) {
	url, _ := startInProcess(t, Options{Alias: "m1"})
	resp, err := testClient.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, resp)
	data, _ := m["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["id"] != "m1" {
		t.Errorf("models = %v", m)
	}
}

func TestInfoCountsRequests(t *testing.T) {
	url, _ := startInProcess(t, Options{})
	for range 3 {
		resp, err := testClient.Get(url + "/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := testClient.Get(url + "/_standin/info")
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, resp)
	if m["requests"] != 4.0 || m["pid"] == nil {
		t.Errorf("info = %v, want 4 requests and a pid", m)
	}
}

func TestCountStartIncrements(t *testing.T) {
	path := t.TempDir() + "/starts"
	for want := 1; want <= 3; want++ {
		n, err := countStart(path)
		if err != nil || n != want {
			t.Fatalf("start %d: got %d, %v", want, n, err)
		}
	}
	if !failsThisStart(2, 2) || failsThisStart(3, 2) {
		t.Error("failsThisStart: wrong boundary")
	}
}

func TestEveryRequestLogsOneLine(t *testing.T) {
	var log proctest.Buffer
	s := New(Options{Stderr: &log, Stdout: &log, LogRequests: true})
	defer s.Close()
	h := s.Handler()
	for _, path := range []string{"/health", "/v1/models", "/_standin/info"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Header().Get("X-Standin-Pid") == "" {
			t.Errorf("%s: missing X-Standin-Pid", path)
		}
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "GET /v1/models") {
		t.Errorf("log lines %q, want one per request", lines)
	}
}

// --fail-inference: /health says 200, every completion and embedding 500.
func TestFailInferenceLooksHealthyAndServesNothing(t *testing.T) {
	url, _ := startInProcess(t, Options{FailInference: true})
	resp, err := testClient.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/health: %d", resp.StatusCode)
	}
	for _, path := range []string{"/v1/chat/completions", "/completion", "/v1/embeddings"} {
		resp, err := post(t, nil, url+path, `{"prompt":"a","input":"a","messages":[{"role":"user","content":"a"}]}`)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}
