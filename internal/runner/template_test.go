package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/gguf"
)

// The models' own chat templates, kept as the chat template package's test data.
const (
	qwenTemplate  = "../chattemplate/testdata/Qwen-Qwen2.5-7B-Instruct.jinja"
	llamaTemplate = "../chattemplate/testdata/meta-llama-Llama-3.1-8B-Instruct.jinja"
	nemoTemplate  = "../chattemplate/testdata/mistralai-Mistral-Nemo-Instruct-2407.jinja"
)

// templateModel generates a small model carrying the template in file (or, when file names no file,
// the text itself) and returns its path.
func templateModel(t *testing.T, file string) string {
	t.Helper()
	tmpl := file
	if b, err := os.ReadFile(file); err == nil {
		tmpl = string(b)
	}
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := gguf.GenerateFile(path, gguf.GenOptions{Seed: 1, ChatTemplate: tmpl}); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveTemplate runs a runner of its own on a model carrying the template in file.
func serveTemplate(t *testing.T, file string) *fixture {
	t.Helper()
	return &fixture{base: serveRunner(t, Config{ModelPath: templateModel(t, file), CtxSize: 4096, Seed: testSeed, NPredict: -1})}
}

var weatherTools = []map[string]any{{"type": "function", "function": map[string]any{
	"name": "get_weather", "description": "Current weather <in C> & wind",
	"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required": []string{"city"}}}}}

// toolHistory is a conversation in which the assistant called a tool and got its answer (ids of nine
// characters, which Mistral's template insists on).
func toolHistory() map[string]any {
	return map[string]any{
		"messages": []map[string]any{
			{"role": "system", "content": "Be brief."},
			{"role": "user", "content": "Weather in Paris?"},
			{"role": "assistant", "content": nil, "tool_calls": []map[string]any{{"id": "abcdefghi", "type": "function",
				"function": map[string]any{"name": "get_weather", "arguments": `{"city": "Paris"}`}}}},
			{"role": "tool", "tool_call_id": "abcdefghi", "content": "sunny"},
			{"role": "assistant", "content": "Sunny."},
			{"role": "user", "content": "And Rome?"},
		},
		"tools": weatherTools,
	}
}

func applyTemplate(t *testing.T, f *fixture, body map[string]any) string {
	t.Helper()
	var out struct{ Prompt string }
	f.postOK(t, "/apply-template", body, &out)
	return out.Prompt
}

func TestApplyTemplateRendersToolsAndCalls(t *testing.T) {
	cases := []struct {
		file string
		want []string
	}{
		{qwenTemplate, []string{
			"<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Current weather <in C> & wind\"",
			"<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>",
			"<tool_response>\nsunny\n</tool_response>",
		}},
		{llamaTemplate, []string{
			"    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",",
			"<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>",
			"<|start_header_id|>ipython<|end_header_id|>\n\n\"sunny\"<|eot_id|>",
		}},
		{nemoTemplate, []string{
			"[AVAILABLE_TOOLS][{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"",
			"[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abcdefghi\"}]</s>",
			"[TOOL_RESULTS]{\"content\": sunny, \"call_id\": \"abcdefghi\"}[/TOOL_RESULTS]",
		}},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			prompt := applyTemplate(t, serveTemplate(t, c.file), toolHistory())
			for _, want := range c.want {
				if !strings.Contains(prompt, want) {
					t.Errorf("prompt lacks %q:\n%s", want, prompt)
				}
			}
			// The vocabulary adds BOS itself, so the template's own bos_token is dropped, as llama-server does.
			if strings.HasPrefix(prompt, "<s>") {
				t.Errorf("prompt starts with the BOS text:\n%s", prompt)
			}
		})
	}
}

func TestChatPromptIsTheAppliedTemplate(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	body := toolHistory()
	prompt := applyTemplate(t, f, body)

	var tok struct{ Tokens []int }
	f.postOK(t, "/tokenize", map[string]any{"content": prompt, "add_special": true}, &tok)
	var marker struct{ Tokens []int }
	f.postOK(t, "/tokenize", map[string]any{"content": "<tool_call>"}, &marker)
	if len(marker.Tokens) != 1 {
		t.Fatalf("<tool_call> tokenizes into %v, want one special token", marker.Tokens)
	}
	seen := 0
	for _, id := range tok.Tokens {
		if id == marker.Tokens[0] {
			seen++
		}
	}
	if want := strings.Count(prompt, "<tool_call>"); seen != want {
		t.Errorf("the prompt holds %d <tool_call> tokens, want %d (one per marker in its text)", seen, want)
	}

	body["max_tokens"] = 1
	var reply chatReply
	f.postOK(t, "/v1/chat/completions", body, &reply)
	if reply.Usage.PromptTokens != len(tok.Tokens) {
		t.Errorf("chat prompt has %d tokens, the applied template %d", reply.Usage.PromptTokens, len(tok.Tokens))
	}
}

func TestApplyTemplateWithoutGenerationPrompt(t *testing.T) {
	f := runnerFor(t, false)
	body := chatBody("hi", map[string]any{"add_generation_prompt": false})
	if got, want := applyTemplate(t, f, body), "<|im_start|>user\nhi<|im_end|>\n"; got != want {
		t.Errorf("prompt %q, want %q", got, want)
	}
	if got := applyTemplate(t, f, chatBody("hi", nil)); !strings.HasSuffix(got, "<|im_start|>assistant\n") {
		t.Errorf("prompt %q lacks the generation prompt", got)
	}
}

func TestApplyTemplateContinuesTheAssistant(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	body := map[string]any{"messages": []map[string]any{{"role": "user", "content": "hi"},
		{"role": "assistant", "content": "Hello the"}}}
	if got := applyTemplate(t, f, body); !strings.HasSuffix(got, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello the") {
		t.Errorf("the prompt does not continue the assistant's message:\n%s", got)
	}
}

func TestTemplateLlamaCppCannotFormat(t *testing.T) {
	// llama.cpp's built-in formatter knows no such family; Jinja renders it.
	tmpl := "{% for m in messages %}<<{{ m.role }}: {{ m.content }}>>{% endfor %}"
	f := serveTemplate(t, tmpl)
	if got := applyTemplate(t, f, chatBody("hi", nil)); got != "<<user: hi>>" {
		t.Errorf("prompt %q", got)
	}
	var props struct {
		ChatTemplate string `json:"chat_template"`
	}
	_, body := f.get(t, "/props")
	mustJSON(t, body, &props)
	if props.ChatTemplate != tmpl {
		t.Errorf("/props chat_template %q, want the model's", props.ChatTemplate)
	}
}

func TestDeveloperRoleIsSystem(t *testing.T) {
	body := map[string]any{"messages": []map[string]any{{"role": "developer", "content": "Be brief."},
		{"role": "user", "content": "hi"}}}
	got := applyTemplate(t, runnerFor(t, false), body)
	if !strings.HasPrefix(got, "<|im_start|>system\nBe brief.<|im_end|>\n") {
		t.Errorf("prompt %q", got)
	}
}
