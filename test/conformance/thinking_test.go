package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// thinkingTemplate is a ChatML template of a thinking model whose generation prompt opens the reasoning
// (as DeepSeek-R1's and Qwen3's do), so that the reply has only the closing tag; it shows an earlier
// reply's reasoning_content, and enable_thinking false closes the reasoning at once.
const thinkingTemplate = `{%- for message in messages -%}
{%- if message.role == 'assistant' -%}
{{- '<|im_start|>assistant\n' -}}
{%- if message.reasoning_content -%}{{- '<think>\n' + message.reasoning_content + '\n</think>\n\n' -}}{%- endif -%}
{{- message.content + '<|im_end|>\n' -}}
{%- else -%}
{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\n\n</think>\n\n' -}}{%- else -%}{{- '<think>\n' -}}{%- endif -%}
{%- endif -%}`

// thinkingModel generates a model carrying thinkingTemplate once.
var thinkingModel = sync.OnceValues(func() (string, error) {
	tmpl := filepath.Join(bins.Dir, "thinking.jinja")
	if err := os.WriteFile(tmpl, []byte(thinkingTemplate), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(bins.Dir, "thinking-256x4.gguf")
	out, err := exec.Command(bins.Custos, "model", "gen", "--out", path, "--dim", "256", "--layers", "4", "--seed", "1",
		"--chat-template", tmpl).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("custos model gen: %v\n%s", err, out)
	}
	return path, nil
})

// A random model never closes its reasoning by itself: the closed cases have a grammar write the reply.
const (
	thinkingChat   = `{"messages":[{"role":"user","content":"hello there"}],"max_tokens":16,"seed":5,"ignore_eos":true`
	closedThinking = `{"messages":[{"role":"user","content":"hello there"}],"max_tokens":32,"seed":5,` +
		`"grammar":"root ::= \"let me see\\n</think>\\n\\n\" [a-z ]{4,12}"`
)

// budgetChat leaves room after a budgeted reasoning for the content the reply goes on with.
const budgetChat = `{"messages":[{"role":"user","content":"hello there"}],"max_tokens":20,"seed":5,"ignore_eos":true`

// The same requests on /v1/messages and /v1/responses; the Responses API passes chat's sampling fields on.
const (
	thinkingMessages  = `{"model":"tiny","max_tokens":16,"temperature":0,"messages":[{"role":"user","content":"hello there"}]`
	thinkingResponses = `{"model":"tiny","input":"hello there","max_output_tokens":16,"seed":5,"ignore_eos":true`
	closedResponses   = `{"model":"tiny","input":"hello there","max_output_tokens":32,"seed":5,` +
		`"grammar":"root ::= \"let me see\\n</think>\\n\\n\" [a-z ]{4,12}"`
)

var thinkingCases = []testCase{
	{"reasoning read out", "POST", "/v1/chat/completions", closedThinking + `}`, seeded("choices[].message.reasoning_content", "choices[].message.content", "choices[].finish_reason"), allow(fingerprint, logprobsNull)},
	{"reasoning never closed", "POST", "/v1/chat/completions", thinkingChat + `}`, seeded("choices[].message.reasoning_content", "choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"reasoning_format none", "POST", "/v1/chat/completions", closedThinking + `,"reasoning_format":"none"}`, seeded("choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"reasoning_format deepseek-legacy", "POST", "/v1/chat/completions", closedThinking + `,"reasoning_format":"deepseek-legacy"}`, seeded("choices[].message.reasoning_content", "choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"thinking off", "POST", "/v1/chat/completions", thinkingChat + `,"chat_template_kwargs":{"enable_thinking":false}}`, seeded("choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"reasoning streamed", "POST", "/v1/chat/completions", closedThinking + `,"stream":true}`, seeded("reasoning", "text", "last.choices[].finish_reason"), allow(fingerprint, logprobsNull)},
	{"reasoning never closed streamed", "POST", "/v1/chat/completions", thinkingChat + `,"stream":true}`, seeded("reasoning", "text"), allow(fingerprint, logprobsNull)},
	{"reasoning_format none streamed", "POST", "/v1/chat/completions", closedThinking + `,"reasoning_format":"none","stream":true}`, seeded("text"), allow(fingerprint, logprobsNull)},
	{"earlier reasoning in the prompt", "POST", "/apply-template", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo","reasoning_content":"greet back"},{"role":"user","content":"ok"}]}`, values("prompt"), nil},
	{"continued reply", "POST", "/apply-template", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello the"}]}`, values("prompt"), nil},
	{"continued reasoning", "POST", "/apply-template", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"","reasoning_content":"Let me"}]}`, values("prompt"), nil},
	{"reasoning budget", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_budget_tokens":5}`, seeded("choices[].message.reasoning_content", "choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"reasoning budget of 0", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_budget_tokens":0}`, seeded("choices[].message.reasoning_content"), allow(fingerprint, logprobsNull)},
	{"reasoning budget message", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_budget_tokens":3,"reasoning_budget_message":" ok, enough."}`, seeded("choices[].message.reasoning_content", "choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"thinking_budget_tokens", "POST", "/v1/chat/completions", budgetChat + `,"thinking_budget_tokens":4}`, seeded("choices[].message.reasoning_content", "choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"reasoning budget streamed", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_budget_tokens":5,"stream":true}`, seeded("reasoning", "text"), allow(fingerprint, logprobsNull)},
	{"reasoning budget with logprobs", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_budget_tokens":2,"logprobs":true,"top_logprobs":2}`, seeded("choices[].message.content", "choices[].logprobs.content[].token"), allow(fingerprint, refusalNull)},
	{"reasoning_control armed", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_control":true}`, seeded("choices[].message.reasoning_content"), allow(fingerprint, logprobsNull)},
	{"reasoning budget of 0 with thinking off", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_budget_tokens":0,"chat_template_kwargs":{"enable_thinking":false}}`, seeded("choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"reasoning budget below -1", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_budget_tokens":-2}`, errorShape, nil},
	{"reasoning budget with a grammar", "POST", "/v1/chat/completions", closedThinking + `,"reasoning_budget_tokens":4}`, errorShape, allow(budgetWithGrammar)},
	{"control of an unknown completion", "POST", "/v1/chat/completions/control", `{"id":"chatcmpl-none","action":"reasoning_end"}`, values("success", "message"), nil},
	{"control without an id", "POST", "/v1/chat/completions/control", `{"action":"reasoning_end"}`, errorShape, nil},
	{"control of an unknown action", "POST", "/v1/chat/completions/control", `{"id":"chatcmpl-none","action":"pause"}`, errorShape, nil},
	{"messages count_tokens thinking off", "POST", "/v1/messages/count_tokens", `{"model":"tiny","messages":[{"role":"user","content":"hello there"}],"chat_template_kwargs":{"enable_thinking":false}}`, values("input_tokens"), nil},
	{"responses input_tokens thinking off", "POST", "/v1/responses/input_tokens", `{"model":"tiny","input":"hello there","chat_template_kwargs":{"enable_thinking":false}}`, values("object", "input_tokens"), nil},
	{"continue the content of a reasoning", "POST", "/apply-template", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"","reasoning_content":"Let me"}],"add_generation_prompt":false,"continue_final_message":"content"}`, values("prompt"), nil},
	{"continue the reasoning of a reply", "POST", "/apply-template", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello","reasoning_content":"Let me"}],"add_generation_prompt":false,"continue_final_message":"reasoning_content"}`, values("prompt"), nil},
	{"continue_final_message true", "POST", "/apply-template", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello the"}],"add_generation_prompt":false,"continue_final_message":true}`, values("prompt"), nil},
	{"continue_final_message with a generation prompt", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello the"}],"max_tokens":2,"continue_final_message":true}`, errorShape, nil},
	{"continued content", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Hello the"}],"max_tokens":8,"seed":5,"ignore_eos":true}`, seeded("choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"continued reasoning", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"","reasoning_content":"Let me"}],"max_tokens":8,"seed":5,"ignore_eos":true}`, seeded("choices[].message.reasoning_content"), allow(fingerprint, logprobsNull)},
	{"continued content streamed", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Hello the"}],"max_tokens":8,"seed":5,"ignore_eos":true,"stream":true}`, seeded("text"), allow(fingerprint, logprobsNull)},
	{"continued reasoning streamed", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Hello","reasoning_content":"Let me"}],"max_tokens":16,"seed":5,"ignore_eos":true,"add_generation_prompt":false,"continue_final_message":"reasoning_content","stream":true}`, seeded("reasoning"), allow(fingerprint, logprobsNull)},
	{"continue_final_message true on a reasoning", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"","reasoning_content":"Let me"}],"max_tokens":8,"seed":5,"ignore_eos":true,"add_generation_prompt":false,"continue_final_message":true}`, continuing(seeded("choices[].message.reasoning_content", "choices[].message.content"), "Let me"), allow(fingerprint, logprobsNull, askedContinuationNotRepeated)},
	{"continue the content after a reasoning", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Hello","reasoning_content":"Let me"}],"max_tokens":8,"seed":5,"ignore_eos":true,"add_generation_prompt":false,"continue_final_message":"content"}`, continuing(seeded("choices[].message.content"), "Hello"), allow(fingerprint, logprobsNull, askedContinuationNotRepeated)},
	{"continue the content after a reasoning streamed", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"Hello","reasoning_content":"Let me"}],"max_tokens":8,"seed":5,"ignore_eos":true,"add_generation_prompt":false,"continue_final_message":"content","stream":true}`, seeded("text", "reasoning"), allow(fingerprint, logprobsNull)},
	{"continue_final_message reasoning under a budget", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"","reasoning_content":"Let me think"}],"max_tokens":16,"seed":5,"ignore_eos":true,"add_generation_prompt":false,"continue_final_message":"reasoning_content","reasoning_budget_tokens":4}`, continuing(seeded("choices[].message.reasoning_content", "choices[].message.content"), "Let me think"), allow(fingerprint, logprobsNull, askedContinuationNotRepeated)},
	{"continued reasoning under a budget", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"","reasoning_content":"Let me"}],"max_tokens":16,"seed":5,"ignore_eos":true,"reasoning_budget_tokens":3}`, seeded("choices[].message.reasoning_content", "choices[].message.content"), allow(fingerprint, logprobsNull)},
	{"json_schema after the reasoning", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"}],"max_tokens":48,"seed":5,"reasoning_budget_tokens":4,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}}}}`, shape(), allow(fingerprint, logprobsNull)},
	{"json_schema with the thinking off", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there"}],"max_tokens":48,"seed":5,"chat_template_kwargs":{"enable_thinking":false},"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}}}}`, shape(), allow(fingerprint, logprobsNull)},
	{"unknown reasoning_format", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":4,"reasoning_format":"r1"}`, errorShape, allow(badValueIs400)},

	// /v1/messages takes no grammar (llama-server passes none on), so its reasoning is never closed: the
	// reply is one thinking block.
	{"messages thinking block", "POST", "/v1/messages", thinkingMessages + `}`, seeded("content[].thinking", "content[].type", "content[].signature", "stop_reason", "usage.output_tokens"), nil},
	{"messages thinking enabled", "POST", "/v1/messages", thinkingMessages + `,"thinking":{"type":"enabled","budget_tokens":1024}}`, seeded("content[].thinking", "content[].type"), nil},
	// A budget the reasoning reaches: the closing tag is forced after budget_tokens tokens, then the text.
	{"messages thinking budget", "POST", "/v1/messages", thinkingMessages + `,"thinking":{"type":"enabled","budget_tokens":4}}`, seeded("content[].thinking", "content[].type", "content[].text", "stop_reason", "usage.output_tokens"), nil},
	{"messages thinking budget streamed", "POST", "/v1/messages", thinkingMessages + `,"thinking":{"type":"enabled","budget_tokens":4},"stream":true}`, seeded("reasoning", "text"), allow(anthropicPing)},
	{"messages thinking streamed", "POST", "/v1/messages", thinkingMessages + `,"stream":true}`, seeded("reasoning", "text", "first.type", "last.type"), allow(anthropicPing)},
	{"messages thinking disabled", "POST", "/v1/messages", thinkingMessages + `,"thinking":{"type":"disabled"}}`, values("content[].type"), allow(thinkingDisabledHonoured)},
	{"messages continuing the thinking", "POST", "/v1/messages", `{"model":"tiny","max_tokens":8,"temperature":0,"messages":[{"role":"user","content":"hello there"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"Let me","signature":""}]}]}`, continuing(seeded("content[].thinking", "content[].type"), "Let me"), allow(prefillNotRepeated)},
	{"messages continuing the thinking streamed", "POST", "/v1/messages", `{"model":"tiny","max_tokens":8,"temperature":0,"stream":true,"messages":[{"role":"user","content":"hello there"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"Let me","signature":""}]}]}`, continuing(seeded("reasoning", "text"), "Let me"), allow(prefillNotRepeated, anthropicPing)},
	{"messages earlier thinking in the prompt", "POST", "/v1/messages/count_tokens", `{"model":"tiny","messages":[{"role":"user","content":"hi"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"greet back","signature":""},{"type":"text","text":"yo"}]},{"role":"user","content":"ok"}]}`, values("input_tokens"), nil},

	{"responses reasoning item", "POST", "/v1/responses", closedResponses + `}`, seeded("output[].content[].text", "output[].type", "output[].summary", "output[].encrypted_content", "output[].content[].type", "status"), allow(responsesObject)},
	{"responses reasoning never closed", "POST", "/v1/responses", thinkingResponses + `}`, seeded("output[].content[].text", "output[].type", "output[].content[].type"), allow(responsesObject, responsesIncomplete)},
	{"responses reasoning streamed", "POST", "/v1/responses", closedResponses + `,"stream":true}`, seeded("reasoning", "text", "last.response.output[].type", "last.response.output[].content[].text"), allow(responsesStreamObject, reasoningItemStatus)},
	{"responses reasoning budget", "POST", "/v1/responses", thinkingResponses + `,"reasoning_budget_tokens":4}`, seeded("output[].content[].text", "output[].type"), allow(responsesObject, responsesIncomplete)},
	{"responses reasoning effort none", "POST", "/v1/responses", thinkingResponses + `,"reasoning":{"effort":"none"}}`, seeded("output[].content[].text", "output[].type"), allow(responsesObject, responsesIncomplete)},
	{"responses continuing the reasoning", "POST", "/v1/responses", `{"model":"tiny","max_output_tokens":8,"seed":5,"ignore_eos":true,"input":[{"role":"user","content":"hello there"},` +
		`{"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"Let me"}]}]}`, continuing(seeded("output[].content[].text", "output[].type"), "Let me"), allow(prefillNotRepeated, responsesObject, responsesIncomplete)},
	{"responses earlier reasoning in the prompt", "POST", "/v1/responses/input_tokens", `{"model":"tiny","input":[{"role":"user","content":"hi"},` +
		`{"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"greet back"}]},{"type":"message","role":"assistant","content":"yo"},{"role":"user","content":"ok"}]}`, values("input_tokens"), nil},
	{"responses reasoning summary", "POST", "/v1/responses", `{"model":"tiny","input":"hi","max_output_tokens":2,"reasoning":{"effort":"low","summary":"concise"}}`, shape(), allow(refusedByName)},
	{"responses reasoning summary auto", "POST", "/v1/responses", closedResponses + `,"reasoning":{"effort":"low","summary":"auto"}}`, seeded("output[].content[].text", "output[].type", "output[].summary"), allow(responsesObject)},
}

// TestConformanceThinking runs the thinking cases against a runner and a llama-server serving a model with
// a thinking chat template, each with its default --reasoning-format.
func TestConformanceThinking(t *testing.T) {
	path, err := thinkingModel()
	if err != nil {
		t.Fatal(err)
	}
	p := startPairAt(t, path, nil, nil)
	for _, c := range thinkingCases {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}

// TestConformanceServerReasoningBudget runs both servers with --reasoning-budget: a chat request that gives
// none is bounded by it, one that gives its own is bounded by that.
func TestConformanceServerReasoningBudget(t *testing.T) {
	path, err := thinkingModel()
	if err != nil {
		t.Fatal(err)
	}
	p := startPairAt(t, path, []string{"--reasoning-budget", "3", "--reasoning-budget-message", " done."}, nil)
	for _, c := range []testCase{
		{"server budget", "POST", "/v1/chat/completions", budgetChat + `}`, seeded("choices[].message.reasoning_content", "choices[].message.content"), allow(fingerprint, logprobsNull)},
		{"request budget over the server's", "POST", "/v1/chat/completions", budgetChat + `,"reasoning_budget_tokens":6}`, seeded("choices[].message.reasoning_content", "choices[].message.content"), allow(fingerprint, logprobsNull)},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, p, c) })
	}
}
