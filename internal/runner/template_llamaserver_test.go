package runner

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"custos/internal/llama/llamatest"
)

// llamaServerPath is the real llama-server of the libraries' release (see llamatest.LlamaServer).
func llamaServerPath(t *testing.T) string {
	t.Helper()
	return llamatest.LlamaServer(t)
}

// startLlamaServer runs the real llama-server on model until the test ends.
func startLlamaServer(t *testing.T, bin, model string) *fixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-m", model, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"-c", "4096", "-t", "1", "--no-webui")
	logPath := filepath.Join(t.TempDir(), "llama-server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		logFile.Close()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitReady(base, 60*time.Second); err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("llama-server: %v\n%s", err, log)
	}
	return &fixture{base: base}
}

func TestApplyTemplateSameAsLlamaServer(t *testing.T) {
	bin := llamaServerPath(t)
	// "" is the generated models' default, ChatML.
	for _, file := range []string{"", qwenTemplate, llamaTemplate, nemoTemplate} {
		name := filepath.Base(file)
		if file == "" {
			name = "default ChatML"
		}
		t.Run(name, func(t *testing.T) {
			model, err := testModel()
			if file != "" {
				model = templateModel(t, file)
			} else if err != nil {
				t.Fatal(err)
			}
			ours := &fixture{base: serveRunner(t, Config{ModelPath: model, CtxSize: 4096, Seed: testSeed, NPredict: -1})}
			theirs := startLlamaServer(t, bin, model)
			bodies := map[string]map[string]any{
				"tool history": toolHistory(),
				"plain":        chatBody("hi", nil),
				"continued": {"messages": []map[string]any{{"role": "user", "content": "hi"},
					{"role": "assistant", "content": "Hello the"}}},
				"no generation prompt": chatBody("hi", map[string]any{"add_generation_prompt": false}),
			}
			if file == "" {
				delete(bodies, "tool history") // custos refuses tools ChatML cannot show the model; llama-server leaves them out
			}
			for name, body := range bodies {
				got, want := applyTemplate(t, ours, body), applyTemplate(t, theirs, body)
				if got != want {
					t.Errorf("%s: runner prompt\n%q\nllama-server prompt\n%q", name, got, want)
				}
			}
		})
	}
}

func TestChatWithToolsSameAsLlamaServer(t *testing.T) {
	bin := llamaServerPath(t)
	for _, file := range []string{qwenTemplate, llamaTemplate, nemoTemplate} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			model := templateModel(t, file)
			ours := &fixture{base: serveRunner(t, Config{ModelPath: model, CtxSize: 4096, Seed: testSeed, NPredict: -1})}
			theirs := startLlamaServer(t, bin, model)
			for _, seed := range []int{1, 2, 3} {
				body := chatBody("Weather in Paris?", map[string]any{"tools": weatherTools, "max_tokens": 10, "seed": seed})
				var got, want toolReply
				ours.postOK(t, "/v1/chat/completions", body, &got)
				theirs.postOK(t, "/v1/chat/completions", body, &want)
				g, w := got.Choices[0], want.Choices[0]
				if g.Message.Content != w.Message.Content || g.FinishReason != w.FinishReason ||
					len(g.Message.ToolCalls) != len(w.Message.ToolCalls) {
					t.Errorf("seed %d: runner %q %s %d calls; llama-server %q %s %d calls", seed,
						g.Message.Content, g.FinishReason, len(g.Message.ToolCalls),
						w.Message.Content, w.FinishReason, len(w.Message.ToolCalls))
				}
			}
		})
	}
}
