package chattemplate

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestChatML(t *testing.T) {
	tmpl := compileFile(t, chatMLFile)
	in := Input{Messages: []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}}
	if got, want := render(t, tmpl, in), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"; got != want {
		t.Errorf("without generation prompt:\n got %q\nwant %q", got, want)
	}
	in.AddGenerationPrompt = true
	if got := render(t, tmpl, in); !strings.HasSuffix(got, "<|im_end|>\n<|im_start|>assistant\n") {
		t.Errorf("with generation prompt: got %q", got)
	}
}

func TestQwen25RendersToolsAndCalls(t *testing.T) {
	got := render(t, compileFile(t, qwen25File), toolConversation())
	for _, want := range []string{
		"<|im_start|>system\nBe brief.\n\n# Tools\n",
		"<tools>\n" + `{"type": "function", "function": {"name": "get_weather", "description": "Current weather <in °C> & wind", ` +
			`"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}` + "\n</tools>",
		"<|im_start|>assistant\n<tool_call>\n" + `{"name": "get_weather", "arguments": {"city": "Paris"}}` + "\n</tool_call><|im_end|>\n",
		"<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n",
		"<|im_start|>user\nAnd Rome?<|im_end|>\n<|im_start|>assistant\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("prompt lacks %q; prompt:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "<|im_start|>assistant\n") {
		t.Errorf("prompt does not end with the generation prompt:\n%s", got)
	}
}

func TestQwen25WithoutTools(t *testing.T) {
	in := Input{Messages: []Message{{Role: "user", Content: "Hi"}}, AddGenerationPrompt: true}
	got := render(t, compileFile(t, qwen25File), in)
	want := "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
		"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestLlama3RendersToolsAndCalls(t *testing.T) {
	for _, file := range []string{llama31File, llama32File} {
		t.Run(file, func(t *testing.T) {
			got := render(t, compileFile(t, file), toolConversation())
			for _, want := range []string{
				"<s><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n",
				"Today Date: 02 Dec 2026\n",
				// tojson(indent=4) keeps the client's key order and does not escape HTML, as Python's json.dumps.
				"{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n" +
					"        \"description\": \"Current weather <in °C> & wind\",\n",
				"<|start_header_id|>assistant<|end_header_id|>\n\n" + `{"name": "get_weather", "parameters": {"city": "Paris"}}` + "<|eot_id|>",
				"<|start_header_id|>ipython<|end_header_id|>\n\n\"sunny\"<|eot_id|>",
			} {
				if !strings.Contains(got, want) {
					t.Errorf("prompt lacks %q; prompt:\n%s", want, got)
				}
			}
			if !strings.HasSuffix(got, "And Rome?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n") {
				t.Errorf("prompt does not end with the generation prompt:\n%s", got)
			}
		})
	}
}

func TestMistralNemoRendersToolsAndCalls(t *testing.T) {
	got := render(t, compileFile(t, nemoFile), toolConversation())
	want := `<s>[INST]Weather in Paris?[/INST][TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abcdefghi"}]</s>` +
		`[TOOL_RESULTS]{"content": sunny, "call_id": "abcdefghi"}[/TOOL_RESULTS]Sunny.</s>` +
		`[AVAILABLE_TOOLS][{"type": "function", "function": {"name": "get_weather", "description": "Current weather <in °C> & wind", ` +
		`"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}][/AVAILABLE_TOOLS]` +
		"[INST]Be brief.\n\nAnd Rome?[/INST]"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestKwargsAreTemplateVariables(t *testing.T) {
	tmpl, err := Compile(`{{ greeting }}-{{ flags.a }}{% if enable_thinking is false %} no-think{% endif %}`)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Kwargs: map[string]json.RawMessage{"greeting": json.RawMessage(`"hello"`), "flags": json.RawMessage(`{"a": 1}`),
		"enable_thinking": json.RawMessage(`false`)}}
	if got := render(t, tmpl, in); got != "hello-1 no-think" {
		t.Errorf("got %q", got)
	}
}

func TestStringArgumentsForTemplatesThatPrintThem(t *testing.T) {
	// A template that prints the arguments as they are wants the JSON string, not an object.
	tmpl, err := Compile(`{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.name }}({{ c.function.arguments }}){% endfor %}{% endfor %}`)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Messages: []Message{{Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: `{"x": 1}`}}}}}
	if got := render(t, tmpl, in); got != `f({"x": 1})` {
		t.Errorf("got %q", got)
	}
}

func TestVariablesAsLlamaServerSetsThem(t *testing.T) {
	tmpl, err := Compile(`{% if add_generation_prompt is defined %}gen{% endif %}|{% if enable_thinking %}think{% endif %}|{{ date_string }}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(t, tmpl, Input{Now: testNow}); got != "||02 Dec 2026" {
		t.Errorf("defaults: got %q", got)
	}
	if got := render(t, tmpl, Input{AddGenerationPrompt: true, EnableThinking: true, Now: testNow}); got != "gen|think|02 Dec 2026" {
		t.Errorf("set: got %q", got)
	}
}

func TestObjectArgumentsForTemplatesThatWalkThem(t *testing.T) {
	// Qwen3-Coder, GLM and LFM templates iterate over the arguments' items.
	tmpl, err := Compile(`{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.name }}(` +
		`{% for k, v in c.function.arguments.items() %}{{ k }}='{{ v }}'{% endfor %}){% endfor %}{% endfor %}`)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Messages: []Message{{Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: `{"x": "y"}`}}}}}
	if got := render(t, tmpl, in); got != `f(x='y')` {
		t.Errorf("got %q", got)
	}
}

func TestSystemMessageMergedWhenTheTemplateHasNoSystemRole(t *testing.T) {
	tmpl, err := Compile(`{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}` +
		`{% endif %}<{{ m.role }}>{{ m.content }}{% endfor %}`)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Messages: []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}}
	if got := render(t, tmpl, in); got != "<user>Be brief.\nHi" {
		t.Errorf("got %q", got)
	}
	if got := render(t, compileFile(t, chatMLFile), in); !strings.HasPrefix(got, "<|im_start|>system\nBe brief.") {
		t.Errorf("a template with a system role got %q", got)
	}
}
