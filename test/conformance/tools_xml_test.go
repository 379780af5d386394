package conformance

import (
	"sync"
	"testing"
)

// Tool calls in the XML format of Qwen3-Coder, Qwen3.5 and Nemotron 3 Nano, whose replies llama-server
// reads with its Qwen3-Coder parser. The tool takes an integer and a boolean, both required: the grammar
// writes them as JSON values, in either order, so a call ends within the token limit; a text value would
// run on to it. Pushed by logit_bias to write <tool_call>, the model has the grammar write the call, and
// the same seed writes the same call, parameters in the same order, on both servers.
const xmlWeatherTool = `[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"days":{"type":"integer","minimum":1,"maximum":7},"metric":{"type":"boolean"}},"required":["days","metric"]}}}]`

// xmlResponsesTool is xmlWeatherTool as the Responses API writes a tool.
const xmlResponsesTool = `[{"type":"function","name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"days":{"type":"integer","minimum":1,"maximum":7},"metric":{"type":"boolean"}},"required":["days","metric"]}}]`

// xmlCallFields are what an auto call case compares.
var xmlCallFields = []string{"choices[].message.tool_calls[].function.arguments", "choices[].message.content", "choices[].finish_reason",
	"choices[].message.tool_calls[].type", "choices[].message.tool_calls[].function.name", "usage.completion_tokens"}

// xmlAutoCall is a chat request with xmlWeatherTool under tool_choice "auto", pushed to write <tool_call>.
func xmlAutoCall(seed, extra string) string {
	return `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + xmlWeatherTool + `,"logit_bias":[["<tool_call>",8],["\n",8]],` +
		`"max_tokens":160,"seed":` + seed + `,"temperature":1` + extra + `}`
}

// coderCases run on the model with Qwen3-Coder's template, which does not think.
var coderCases = []testCase{
	{"chat auto call after <tool_call>", "POST", "/v1/chat/completions", xmlAutoCall("1", `,"parallel_tool_calls":false`),
		seeded(xmlCallFields[0], xmlCallFields[1:]...), allow(fingerprint, logprobsNull)},
	{"chat auto without a trigger", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + xmlWeatherTool + `,"max_tokens":16,"seed":5}`,
		seeded("choices[].message.content", "choices[].finish_reason", "usage.completion_tokens"), allow(fingerprint, logprobsNull)},
	// The call comes back in the history as XML, its arguments an object the template walks.
	{"tool history prompt", "POST", "/apply-template", `{"messages":[{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"days\":3,\"metric\":true}"}}]},` +
		`{"role":"tool","tool_call_id":"c1","content":"sunny"},{"role":"user","content":"And Rome?"}],"tools":` + xmlWeatherTool + `}`,
		values("prompt"), nil},
	// The runner's grammar writes the call; llama-server's lets the model write text first, which this
	// model does until the limit.
	{"responses forced call", "POST", "/v1/responses", `{"model":"tiny","input":"Weather in Paris?","tools":` + xmlResponsesTool + `,"tool_choice":"required","max_output_tokens":160,"seed":3}`,
		values("output[].type", "output[].name"), allow(responsesObject, forcedCallWritten)},
}

// qwen35Cases run on the model with Qwen3.5's template, which thinks: its generation prompt opens the
// reasoning, and a <tool_call> ends it as </think> does, on both servers.
var qwen35Cases = []testCase{
	{"chat auto call that ends the reasoning", "POST", "/v1/chat/completions", xmlAutoCall("2", `,"parallel_tool_calls":false`),
		seeded(xmlCallFields[0], append([]string{"choices[].message.reasoning_content"}, xmlCallFields[1:]...)...), allow(fingerprint, logprobsNull)},
	{"chat auto call with thinking off", "POST", "/v1/chat/completions", xmlAutoCall("2", `,"parallel_tool_calls":false,"chat_template_kwargs":{"enable_thinking":false}`),
		seeded(xmlCallFields[0], xmlCallFields[1:]...), allow(fingerprint, logprobsNull)},
	// Without tools too, the reasoning ends at a <tool_call>, which is content. It runs after the others,
	// on slots their prompts filled, and both servers choose the same one and reuse as much of its cache;
	// when the runner chose the slot whose cache shared the most tokens, however few, its last tokens came
	// out otherwise here.
	{"chat reasoning ended by a call marker", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Weather in Paris?"}],"logit_bias":[["<tool_call>",4]],"max_tokens":60,"seed":2,"temperature":1}`,
		seeded("choices[].message.content", "choices[].message.reasoning_content", "choices[].finish_reason", "usage.prompt_tokens_details.cached_tokens"), allow(fingerprint, logprobsNull)},
}

var (
	coderModel = sync.OnceValues(func() (string, error) {
		return generateModel("tiny-256x4-qwen3-coder.gguf", "--chat-template", "../../internal/chattemplate/testdata/Qwen3-Coder.jinja")
	})
	qwen35Model = sync.OnceValues(func() (string, error) {
		return generateModel("tiny-256x4-qwen3.5.gguf", "--chat-template", "../../internal/chattemplate/testdata/Qwen3.5-4B.jinja")
	})
)

func TestConformanceXMLToolCalls(t *testing.T) {
	t.Run("qwen3-coder", func(t *testing.T) {
		p := startPairOn(t, coderModel, nil, nil)
		for _, c := range coderCases {
			t.Run(c.name, func(t *testing.T) { check(t, p, c) })
		}
	})
	t.Run("qwen3.5", func(t *testing.T) {
		p := startPairOn(t, qwen35Model, nil, nil)
		for _, c := range qwen35Cases {
			t.Run(c.name, func(t *testing.T) { check(t, p, c) })
		}
	})
}
