package conformance

import "testing"

// Tool calls on /v1/responses and /v1/messages, on a model whose chat template has a tool-call format both
// servers read. A random model calls no tool of its own accord, so the cases force a call (tool_choice
// "required", Anthropic's "any"): each server's grammar then writes a well-formed call of the one tool,
// whose argument is bounded so the call ends within the token limit. The two grammars differ, so the
// arguments do, and the cases compare the call's shape, its kind and its name, and exact prompt lengths.
const (
	responsesWeatherTool = `[{"type":"function","name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":8}},"required":["city"]}}]`
	anthropicWeatherTool = `[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string","maxLength":8}},"required":["city"]}}]`
	// responsesToolHistory is a call and its output sent back as input items.
	responsesToolHistory = `"input":[{"role":"user","content":"Weather in Paris?"},` +
		`{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},` +
		`{"type":"function_call_output","call_id":"call_1","output":"sunny"},{"role":"user","content":"And Rome?"}]`
	// anthropicToolHistory is a tool_use and its tool_result.
	anthropicToolHistory = `"messages":[{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"sunny"}]}]},` +
		`{"role":"assistant","content":"Sunny."},{"role":"user","content":"And Rome?"}]`
)

var toolCases = []testCase{
	// Offered tools and no call: the same greedy text, read back through each server's tool-call parser.
	{"responses with tools", "POST", "/v1/responses", `{"model":"tiny","input":"Weather in Paris?","tools":` + responsesWeatherTool + `,"max_output_tokens":16,"temperature":0}`,
		seeded("output[].content[].text", "output[].type", "usage.input_tokens", "usage.output_tokens"), allow(responsesObject, responsesIncomplete)},
	{"messages with tools", "POST", "/v1/messages", `{"model":"tiny","max_tokens":16,"temperature":0,"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + anthropicWeatherTool + `}`,
		seeded("content[].text", "content[].type", "stop_reason", "usage.output_tokens"), nil},
	{"responses forced call", "POST", "/v1/responses", `{"model":"tiny","input":"Weather in Paris?","tools":` + responsesWeatherTool + `,"tool_choice":"required","max_output_tokens":64,"seed":3}`,
		values("status", "output[].type", "output[].name", "output[].status"), allow(responsesObject, forcedCallWritten)},
	{"responses forced call stream", "POST", "/v1/responses", `{"model":"tiny","input":"Weather in Paris?","tools":` + responsesWeatherTool + `,"tool_choice":"required","max_output_tokens":64,"seed":3,"stream":true}`,
		values("first.type", "last.type", "last.response.status", "last.response.output[].type", "last.response.output[].name"), allow(responsesStreamObject, forcedCallWritten)},
	{"responses tool history input_tokens", "POST", "/v1/responses/input_tokens", `{"model":"tiny","tools":` + responsesWeatherTool + `,` + responsesToolHistory + `}`,
		values("object", "input_tokens"), nil},
	{"responses hosted tool", "POST", "/v1/responses", `{"model":"tiny","input":"hi","tools":[{"type":"web_search"}],"max_output_tokens":4}`,
		shape(), allow(hostedToolRefused)},
	{"messages forced call", "POST", "/v1/messages", `{"model":"tiny","max_tokens":64,"seed":3,"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + anthropicWeatherTool + `,"tool_choice":{"type":"any"}}`,
		values("type", "role", "stop_reason", "content[].type", "content[].name"), allow(forcedCallWritten)},
	{"messages tool history count_tokens", "POST", "/v1/messages/count_tokens", `{"model":"tiny","system":"Be brief.","tools":` + anthropicWeatherTool + `,` + anthropicToolHistory + `}`,
		values("input_tokens"), nil},
	{"responses call arguments not a string", "POST", "/v1/responses/input_tokens", `{"model":"tiny","input":[{"role":"user","content":"Weather?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":{"city":"Paris"}},{"type":"function_call_output","call_id":"call_1","output":"sunny"},{"role":"user","content":"And Rome?"}]}`,
		errorShape, nil},
	{"responses call arguments not JSON", "POST", "/v1/responses/input_tokens", `{"model":"tiny","input":[{"role":"user","content":"Weather?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"not json"},{"type":"function_call_output","call_id":"call_1","output":"sunny"},{"role":"user","content":"And Rome?"}]}`,
		errorShape, allow(badValueIs400)},
	{"messages malformed input_schema", "POST", "/v1/messages", `{"model":"tiny","max_tokens":4,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":"object"}]}`,
		errorShape, nil},
}

// TestConformanceTools runs the tool cases against a runner and a llama-server on the model with Qwen's
// chat template.
func TestConformanceTools(t *testing.T) {
	p := startPairOn(t, toolModel, nil, nil)
	for _, c := range toolCases {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}
