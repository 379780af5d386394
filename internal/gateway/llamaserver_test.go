package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
)

// realLlamaServer runs the real llama-server of the release custos
// supervises on a small generated model and returns its URL. The binary is
// found through llamatest (CUSTOS_LLAMA_SERVER, else what make llama-server built).
func realLlamaServer(t *testing.T) string {
	t.Helper()
	bin := llamatest.LlamaServer(t)
	model := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := gguf.GenerateFile(model, gguf.GenOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	var log bytes.Buffer
	cmd := exec.Command(bin, "-m", model, "--host", "127.0.0.1", "--port", port, "-c", "512", "-np", "2", "-t", "1")
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://127.0.0.1:" + port
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("llama-server was not ready within 60s:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// realBody is one body for every route: each takes the fields it knows.
const realBody = `{"model":"default","max_tokens":2,"max_output_tokens":2,"n_predict":2,"prompt":"hi","content":"hi","tokens":[5,6],` +
	`"messages":[{"role":"user","content":"hi"}],"input":"hi","input_prefix":"a","input_suffix":"b","query":"q","documents":["a","b"]%s}`

// In front of the real llama-server, every route of the table reaches it
// and gets the status it gives directly (501 where this model or these
// flags cannot: infill, embeddings, rerank), and every answer that names a
// model names the one the client asked for, here an alias.
func TestRealLlamaServerEveryRouteThroughTheGateway(t *testing.T) {
	url := realLlamaServer(t)
	f := newFixtureAt(t, url, nil)
	renamed := 0
	for _, rt := range routes {
		body := strings.Replace(realBody, "%s", "", 1)
		direct := postTo(t, url+rt.path, body)
		via := f.post(rt.path, body)
		if via.status != direct.status || via.status == 404 {
			t.Errorf("%s: %d through custos, %d direct: %s", rt.path, via.status, direct.status, via.body)
			continue
		}
		var answer struct {
			Model *string `json:"model"`
		}
		if err := json.Unmarshal([]byte(via.body), &answer); err != nil {
			t.Errorf("%s: not JSON: %s", rt.path, via.body)
		} else if answer.Model != nil && *answer.Model != "default" {
			t.Errorf("%s: the answer names %q: %s", rt.path, *answer.Model, via.body)
		}
		var own struct{ Model string }
		if json.Unmarshal([]byte(direct.body), &own) == nil && own.Model != "" && own.Model != "default" {
			renamed++
		}
	}
	if renamed == 0 {
		t.Fatal("llama-server named no model other than the requested one: nothing was rewritten")
	}
	t.Logf("%d answers named llama-server's own model name and were rewritten", renamed)
}

// Streams from the real llama-server name the requested model in every
// event that names one — chat chunks, Anthropic's message_start, the
// Responses API's response.* events — and keep their event: lines.
func TestRealLlamaServerStreamsNameTheRequestedModel(t *testing.T) {
	url := realLlamaServer(t)
	f := newFixtureAt(t, url, nil)
	for _, tc := range []struct {
		path      string
		eventLine string // an event: line the stream must keep, "" for none
		models    int    // events naming a model, at least
	}{
		{"/v1/chat/completions", "", 2},
		{"/v1/messages", "event: message_start\n", 1},
		{"/v1/responses", "event: response.completed\n", 1},
	} {
		a := f.post(tc.path, strings.Replace(realBody, "%s", `,"stream":true`, 1))
		if a.status != 200 || !strings.Contains(a.body, tc.eventLine) {
			t.Errorf("%s: got %d %s", tc.path, a.status, a.body)
			continue
		}
		named := 0
		for line := range strings.Lines(a.body) {
			data, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			var ev struct {
				Model    *string
				Message  struct{ Model *string }
				Response struct{ Model *string }
			}
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Errorf("%s: an event is not JSON: %q", tc.path, data)
				continue
			}
			for _, m := range []*string{ev.Model, ev.Message.Model, ev.Response.Model} {
				if m == nil {
					continue
				}
				named++
				if *m != "default" {
					t.Errorf("%s: an event names %q: %s", tc.path, *m, data)
				}
			}
		}
		if named < tc.models {
			t.Errorf("%s: %d events name a model, want at least %d:\n%s", tc.path, named, tc.models, a.body)
		}
	}
}

func postTo(t *testing.T, url, body string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}
