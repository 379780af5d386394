package toolcall

import (
	"os"
	"testing"
)

func TestDetectRealTemplates(t *testing.T) {
	// The models' own templates, kept by the chat template package's tests.
	cases := map[string]Family{
		"Qwen-Qwen2.5-7B-Instruct.jinja":             Hermes,
		"meta-llama-Llama-3.1-8B-Instruct.jinja":     Llama3,
		"meta-llama-Llama-3.2-3B-Instruct.jinja":     Llama3,
		"mistralai-Mistral-Nemo-Instruct-2407.jinja": Mistral,
		"chatml.jinja": None,
	}
	for file, want := range cases {
		src, err := os.ReadFile("../chattemplate/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(string(src)); got != want {
			t.Errorf("%s: detected %v, want %v", file, got, want)
		}
	}
}

func TestDetectLookalikes(t *testing.T) {
	cases := map[string]Family{
		// Qwen3-Coder writes XML parameters inside <tool_call>.
		"{{ '<tool_call>\n<function=' ~ name ~ '>' }}": None,
		// Newer Mistral models write [TOOL_CALLS]name[ARGS]{...}.
		"{{ '[TOOL_CALLS]' + name + '[ARGS]' }}": None,
		// Llama 3.0 has headers but no tool calls.
		"{{ '<|start_header_id|>' + role + '<|end_header_id|>' }}": None,
	}
	for src, want := range cases {
		if got := Detect(src); got != want {
			t.Errorf("Detect(%q) = %v, want %v", src, got, want)
		}
	}
}
