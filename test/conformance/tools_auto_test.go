package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Tool calls under tool_choice "auto", which both servers constrain by a lazy grammar from the family's
// trigger on (llama-server builds it from its template analysis, the runner the same grammar from the
// family). A random model writes a trigger only when logit_bias pushes it to; after the trigger the
// grammar writes the call, and the same seed writes the same call on both servers.
const autoWeatherTool = `[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":8}},"required":["city"]}}}]`

// autoTwoTools adds a tool without arguments to autoWeatherTool.
const autoTwoTools = `[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":8}},"required":["city"]}}},{"type":"function","function":{"name":"get_time","description":"The time","parameters":{}}}]`

var autoToolCases = []testCase{
	// No bias: no trigger, and the text is free on both.
	{"chat auto without a trigger", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + autoWeatherTool + `,"max_tokens":16,"seed":5}`,
		seeded("choices[].message.content", "choices[].finish_reason", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
	{"chat auto call after <tool_call>", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + autoWeatherTool + `,"parallel_tool_calls":false,"logit_bias":[["<tool_call>",8],["\n",8]],"stop":["</tool_call>"],"max_tokens":200,"seed":3,"temperature":1}`,
		seeded("choices[].message.tool_calls[].function.arguments", "choices[].message.content", "choices[].finish_reason", "choices[].message.tool_calls[].type", "choices[].message.tool_calls[].function.name", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
}

// mistralAutoToolCases run on the model with Mistral Nemo's template, whose trigger [TOOL_CALLS] is one
// token: once the bias has it out, the grammar writes an array of one call and ends the reply.
var mistralAutoToolCases = []testCase{
	{"chat auto call of one of two tools", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"What time is it?"}],"tools":` + autoTwoTools + `,"parallel_tool_calls":false,"logit_bias":[["[TOOL_CALLS]",10]],"max_tokens":200,"seed":3,"temperature":1}`,
		seeded("choices[].message.tool_calls[].function.arguments", "choices[].finish_reason", "choices[].message.tool_calls[].function.name", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
	// parallel_tool_calls not given: both servers' grammars take the template's supports_parallel_tool_calls.
	{"chat auto calls after [TOOL_CALLS], parallel by the template", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + autoTwoTools + `,"logit_bias":[["[TOOL_CALLS]",10]],"max_tokens":200,"seed":1,"temperature":1}`,
		seeded("choices[].message.tool_calls[].function.arguments", "choices[].finish_reason", "choices[].message.tool_calls[].function.name", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
	{"chat auto call after [TOOL_CALLS]", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + autoWeatherTool + `,"parallel_tool_calls":false,"logit_bias":[["[TOOL_CALLS]",10]],"max_tokens":200,"seed":1,"temperature":1}`,
		seeded("choices[].message.tool_calls[].function.arguments", "choices[].message.content", "choices[].finish_reason", "choices[].message.tool_calls[].type", "choices[].message.tool_calls[].function.name", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
}

// hermesThinkingTemplate is a Qwen3-like template: it renders calls in <tool_call> blocks and its
// generation prompt opens the reasoning, so both servers hold their grammar back from the first token.
const hermesThinkingTemplate = `{%- if tools -%}
{{- '<|im_start|>system\nCall tools in <tool_call></tool_call>:\n' -}}{%- for tool in tools -%}{{- tool | tojson -}}{%- endfor -%}{{- '<|im_end|>\n' -}}
{%- endif -%}
{%- for message in messages -%}
{%- if message.role == 'assistant' -%}
{{- '<|im_start|>assistant\n' -}}
{%- if message.reasoning_content -%}{{- '<think>\n' + message.reasoning_content + '\n</think>\n\n' -}}{%- endif -%}
{{- message.content -}}
{%- if message.tool_calls -%}{%- for tc in message.tool_calls -%}{{- '\n<tool_call>\n{"name": "' + tc.function.name + '", "arguments": ' + (tc.function.arguments | tojson) + '}\n</tool_call>' -}}{%- endfor -%}{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- elif message.role == 'tool' -%}
{{- '<|im_start|>user\n<tool_response>\n' + message.content + '\n</tool_response><|im_end|>\n' -}}
{%- else -%}
{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\n\n</think>\n\n' -}}{%- else -%}{{- '<think>\n' -}}{%- endif -%}
{%- endif -%}`

// thinkingAutoToolCases run on the model with hermesThinkingTemplate: the bias has the model write the
// trigger inside its reasoning, where neither server's grammar applies, so the reasoning stays the same
// free text on both.
var thinkingAutoToolCases = []testCase{
	{"chat auto trigger inside the reasoning", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + autoWeatherTool + `,"logit_bias":[["<tool_call>",8],["\n",8]],"max_tokens":40,"seed":2,"temperature":1}`,
		seeded("choices[].message.reasoning_content", "choices[].message.content", "choices[].finish_reason", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
}

// hermesThinkingModel is the suite's model carrying hermesThinkingTemplate.
var hermesThinkingModel = sync.OnceValues(func() (string, error) {
	tmpl := filepath.Join(bins.Dir, "hermes-thinking.jinja")
	if err := os.WriteFile(tmpl, []byte(hermesThinkingTemplate), 0o644); err != nil {
		return "", err
	}
	return generateModel("tiny-256x4-hermes-thinking.gguf", "--chat-template", tmpl)
})

// llamaAutoToolCases run on the model with Llama 3.1's template, whose calls have no trigger: pushed to
// open a JSON object, the model writes on unconstrained on both servers, and llama-server then fails to
// parse the reply as its format.
var llamaAutoToolCases = []testCase{
	{"chat auto without a trigger to constrain", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + autoWeatherTool + `,"logit_bias":[["{",6]],"max_tokens":24,"seed":3,"temperature":1}`,
		shape(), allow(unparsedReplyIsContent)},
}

// llamaModel is the suite's model carrying Llama 3.1's chat template.
var llamaModel = sync.OnceValues(func() (string, error) {
	return generateModel("tiny-256x4-llama3.gguf", "--chat-template", "../../internal/chattemplate/testdata/meta-llama-Llama-3.1-8B-Instruct.jinja")
})

// toolCallsToken is [TOOL_CALLS]'s id in the generated vocabulary of Nemo's template (the test checks it).
const toolCallsToken = 267

// controlMarkerCases run on the Nemo model whose [TOOL_CALLS] is a control token, as in Mistral's own
// vocabularies: both servers write it out (llama-server as a preserved token), so the call that follows
// some free text is read back the same.
var controlMarkerCases = []testCase{
	{"chat auto call after text and a control-token trigger", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + autoWeatherTool + `,"parallel_tool_calls":false,"logit_bias":[[` + strconv.Itoa(toolCallsToken) + `,4]],"max_tokens":200,"seed":2,"temperature":1}`,
		seeded("choices[].message.content", "choices[].message.tool_calls[].function.arguments", "choices[].finish_reason", "choices[].message.tool_calls[].function.name", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
}

// nemoControlModel is nemoModel with [TOOL_CALLS] a control token.
var nemoControlModel = sync.OnceValues(func() (string, error) {
	return generateModel("tiny-256x4-nemo-control.gguf", "--chat-template", "../../internal/chattemplate/testdata/mistralai-Mistral-Nemo-Instruct-2407.jinja", "--control-tool-markers")
})

// nemoModel is the suite's model carrying Mistral Nemo's chat template.
var nemoModel = sync.OnceValues(func() (string, error) {
	return generateModel("tiny-256x4-nemo.gguf", "--chat-template", "../../internal/chattemplate/testdata/mistralai-Mistral-Nemo-Instruct-2407.jinja")
})

// TestConformanceAutoToolCalls runs the auto cases on the Qwen model (Hermes calls), on a thinking model
// with Hermes calls, on the Llama 3.1 model and on the Nemo model (Mistral calls).
func TestConformanceAutoToolCalls(t *testing.T) {
	t.Run("hermes", func(t *testing.T) {
		p := startPairOn(t, toolModel, nil, nil)
		for _, c := range autoToolCases {
			t.Run(c.name, func(t *testing.T) { check(t, p, c) })
		}
	})
	t.Run("hermes thinking", func(t *testing.T) {
		p := startPairOn(t, hermesThinkingModel, nil, nil)
		for _, c := range thinkingAutoToolCases {
			t.Run(c.name, func(t *testing.T) { check(t, p, c) })
		}
	})
	t.Run("llama3", func(t *testing.T) {
		p := startPairOn(t, llamaModel, nil, nil)
		for _, c := range llamaAutoToolCases {
			t.Run(c.name, func(t *testing.T) { check(t, p, c) })
		}
	})
	t.Run("mistral control token", func(t *testing.T) {
		p := startPairOn(t, nemoControlModel, nil, nil)
		ids := ask(t, p.runner, testCase{method: "POST", path: "/tokenize", body: `{"content":"[TOOL_CALLS]"}`}).view
		if got := valuesAt(ids, "tokens[]"); len(got) != 1 || fmt.Sprint(got[0]) != strconv.Itoa(toolCallsToken) {
			t.Fatalf("[TOOL_CALLS] tokenizes to %v, want [%d]", got, toolCallsToken)
		}
		for _, c := range controlMarkerCases {
			t.Run(c.name, func(t *testing.T) { check(t, p, c) })
		}
	})
	t.Run("mistral", func(t *testing.T) {
		p := startPairOn(t, nemoModel, nil, nil)
		for _, c := range mistralAutoToolCases {
			t.Run(c.name, func(t *testing.T) { check(t, p, c) })
		}
	})
}
