package conformance

import (
	"sync"
	"testing"
)

// Tool calls under tool_choice "auto", which both servers constrain by a lazy grammar from the family's
// trigger on (llama-server builds it from its template analysis, the runner the same grammar from the
// family). A random model writes a trigger only when logit_bias pushes it to; after the trigger the
// grammar writes the call, and the same seed writes the same call on both servers.
const autoWeatherTool = `[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":8}},"required":["city"]}}}]`

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
	{"chat auto call after [TOOL_CALLS]", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + autoWeatherTool + `,"parallel_tool_calls":false,"logit_bias":[["[TOOL_CALLS]",10]],"max_tokens":200,"seed":1,"temperature":1}`,
		seeded("choices[].message.tool_calls[].function.arguments", "choices[].message.content", "choices[].finish_reason", "choices[].message.tool_calls[].type", "choices[].message.tool_calls[].function.name", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
}

// nemoModel is the suite's model carrying Mistral Nemo's chat template.
var nemoModel = sync.OnceValues(func() (string, error) {
	return generateModel("tiny-256x4-nemo.gguf", "--chat-template", "../../internal/chattemplate/testdata/mistralai-Mistral-Nemo-Instruct-2407.jinja")
})

// TestConformanceAutoToolCalls runs the auto cases on the Qwen model (Hermes calls) and on the Nemo model
// (Mistral calls).
func TestConformanceAutoToolCalls(t *testing.T) {
	t.Run("hermes", func(t *testing.T) {
		p := startPairOn(t, toolModel, nil, nil)
		for _, c := range autoToolCases {
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
