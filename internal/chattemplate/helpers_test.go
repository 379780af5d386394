package chattemplate

import (
	"os"
	"testing"
	"time"
)

// Templates in testdata: chatml.jinja is written for these tests; the others are the models' own, as
// llama.cpp keeps them in models/templates.
const (
	chatMLFile  = "chatml.jinja"
	qwen25File  = "Qwen-Qwen2.5-7B-Instruct.jinja"
	llama31File = "meta-llama-Llama-3.1-8B-Instruct.jinja"
	llama32File = "meta-llama-Llama-3.2-3B-Instruct.jinja"
	nemoFile    = "mistralai-Mistral-Nemo-Instruct-2407.jinja"
)

func compileFile(t *testing.T, name string) *Template {
	t.Helper()
	src, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Compile(string(src))
	if err != nil {
		t.Fatalf("compiling %s: %v", name, err)
	}
	return tmpl
}

func render(t *testing.T, tmpl *Template, in Input) string {
	t.Helper()
	out, err := tmpl.Render(in)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out
}

var testNow = time.Date(2026, time.December, 2, 9, 5, 7, 0, time.UTC)

var weatherTool = Tool{Name: "get_weather", Description: "Current weather <in °C> & wind",
	Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}

// toolConversation asks, calls the tool, gets its answer, replies, and asks again.
func toolConversation() Input {
	return Input{
		Messages: []Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "Weather in Paris?"},
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "abcdefghi", Name: "get_weather", Arguments: `{"city": "Paris"}`}}},
			{Role: "tool", Content: "sunny", ToolCallID: "abcdefghi", Name: "get_weather"},
			{Role: "assistant", Content: "Sunny."},
			{Role: "user", Content: "And Rome?"},
		},
		Tools:               []Tool{weatherTool},
		AddGenerationPrompt: true, BOSToken: "<s>", EOSToken: "</s>", Now: testNow,
	}
}
