package runner

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"custos/internal/toolcall"
)

// Under tool_choice "auto" the reply is free until the family's trigger, and a grammar of the tools' calls
// writes the rest, as llama-server constrains it. A random model writes a trigger only when pushed to, so
// logit_bias favours the trigger's tokens; once it is out, whatever the model would have written after it,
// the reply ends as a well-formed call of an offered tool. Hermes' trigger is "<tool_call>" and a line
// break, whose bias would also fill the call with line breaks where its grammar allows whitespace, and its
// grammar allows more calls after the first: the stop string ends the reply after one, and
// parallel_tool_calls false keeps the block to one call.
func TestAutoToolCallIsWellFormedOnceTriggered(t *testing.T) {
	for _, tc := range []struct {
		name, template string
		trigger        string
		extra          map[string]any
	}{
		{"hermes", qwenTemplate, "<tool_call>\n", map[string]any{"logit_bias": [][]any{{"<tool_call>", 8}, {"\n", 8}},
			"stop": []string{"</tool_call>"}, "parallel_tool_calls": false}},
		{"mistral", nemoTemplate, "[TOOL_CALLS]", map[string]any{"logit_bias": [][]any{{"[TOOL_CALLS]", 10}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := serveTemplate(t, tc.template)
			for seed := range 4 {
				body := map[string]any{"tools": boundedTools, "max_tokens": 200, "seed": seed, "temperature": 1}
				for k, v := range tc.extra {
					body[k] = v
				}
				var reply toolReply
				f.postOK(t, "/v1/chat/completions", chatBody("Weather in Paris?", body), &reply)
				ch := reply.Choices[0]
				if strings.Contains(ch.Message.Content, tc.trigger) {
					t.Fatalf("seed %d: the trigger %q is left in the content %q: what followed it was no call", seed, tc.trigger, ch.Message.Content)
				}
				if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) == 0 {
					t.Fatalf("seed %d: finish %q, content %q, no tool call", seed, ch.FinishReason, ch.Message.Content)
				}
				for _, c := range ch.Message.ToolCalls {
					var args map[string]any
					if !slices.Contains([]string{"get_weather", "get_time"}, c.Function.Name) ||
						json.Unmarshal([]byte(c.Function.Arguments), &args) != nil {
						t.Fatalf("seed %d: call %+v is not one of the tools with an object of arguments", seed, c)
					}
					if city, ok := args["city"].(string); c.Function.Name == "get_weather" && (!ok || len([]rune(city)) > 8) {
						t.Fatalf("seed %d: get_weather arguments %q do not follow its schema", seed, c.Function.Arguments)
					}
				}
			}
		})
	}
}

// The text before the trigger is free: a reply that never writes the trigger is the reply the same seed
// gives without the grammar (tool_choice "none", the same prompt), but for the leading whitespace that
// reading a reply for calls drops.
func TestAutoToolChoiceLeavesTheTextBeforeTheTriggerFree(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	content := func(choice string) string {
		var reply toolReply
		f.postOK(t, "/v1/chat/completions", chatBody("Weather in Paris?", map[string]any{"tools": boundedTools,
			"tool_choice": choice, "max_tokens": 24, "seed": 3, "temperature": 1}), &reply)
		return reply.Choices[0].Message.Content
	}
	auto, none := content("auto"), content("none")
	if auto != strings.TrimLeft(none, " \n") || auto == "" || strings.Contains(auto, "<tool_call>") {
		t.Errorf("auto without a trigger: %q; none: %q", auto, none)
	}
}

// llama-server puts no grammar on Llama 3.x calls under "auto": they have no marker to trigger on. Pushed
// to open a JSON object, the model writes what it likes after it, as under "none".
func TestAutoToolChoiceWithoutATrigger(t *testing.T) {
	f := serveTemplate(t, llamaTemplate)
	content := func(choice string) string {
		var reply toolReply
		f.postOK(t, "/v1/chat/completions", chatBody("Weather in Paris?", map[string]any{"tools": boundedTools,
			"tool_choice": choice, "max_tokens": 24, "seed": 3, "temperature": 1, "logit_bias": [][]any{{"{", 6}}}), &reply)
		return reply.Choices[0].Message.Content
	}
	if auto, none := content("auto"), content("none"); auto != strings.TrimLeft(none, " \n") || !strings.Contains(auto, "{") {
		t.Errorf("Llama 3.x under auto: %q; none: %q", auto, none)
	}

	getTime := callableTools([]toolSpec{functionTool("get_time", "", nil)}, "")
	r := &replyFormat{family: toolcall.Llama3, tools: getTime, parallel: true}
	r.lazyCall(true)
	if r.grammar != "" || r.triggers != nil {
		t.Errorf("Llama 3.x under auto: grammar %q, triggers %q; want none", r.grammar, r.triggers)
	}
	h := &replyFormat{family: toolcall.Hermes, tools: getTime, parallel: true}
	h.lazyCall(true)
	if h.grammar == "" || !slices.Equal(h.triggers, []string{"<tool_call>\n"}) || h.forced() {
		t.Errorf("Hermes under auto: grammar %q, triggers %q, forced %v", h.grammar, h.triggers, h.forced())
	}
}

// A thinking reply's trigger inside the reasoning starts no call, as llama-server holds its grammar back
// while the model reasons: the prompt opens the reasoning, the bias has the model write "<tool_call>" and
// line breaks there, and what follows the first trigger is still free (a grammar would have had "{").
func TestAutoToolChoiceTriggerInTheReasoningIsFree(t *testing.T) {
	tmpl := "{%- if tools -%}{{- '<|im_start|>system\\nCall tools in <tool_call></tool_call>.<|im_end|>\\n' -}}{%- endif -%}" +
		openThinkingTemplate
	f := serveTemplate(t, tmpl)
	for seed := range 3 {
		var reply struct {
			Choices []struct {
				Message struct {
					Reasoning string `json:"reasoning_content"`
				} `json:"message"`
			} `json:"choices"`
		}
		f.postOK(t, "/v1/chat/completions", chatBody("Weather in Paris?", map[string]any{"tools": boundedTools,
			"max_tokens": 40, "seed": seed, "temperature": 1, "logit_bias": [][]any{{"<tool_call>", 8}, {"\n", 8}}}), &reply)
		reasoning := reply.Choices[0].Message.Reasoning
		_, after, found := strings.Cut(reasoning, "<tool_call>\n")
		if !found {
			t.Fatalf("seed %d: no trigger in the reasoning %q", seed, reasoning)
		}
		if rest := strings.TrimLeft(after, " \t\n"); strings.HasPrefix(rest, "{") {
			t.Fatalf("seed %d: the trigger in the reasoning started the call's grammar: %q", seed, reasoning)
		}
	}
}

// A reasoning budget forces the end of the reasoning while the lazy tool-call grammar is held: the grammar
// takes the forced end marker, and the reply goes on after the reasoning, as in llama-server.
func TestAutoToolChoiceWithAReasoningBudget(t *testing.T) {
	tmpl := "{%- if tools -%}{{- '<|im_start|>system\\nCall tools in <tool_call></tool_call>.<|im_end|>\\n' -}}{%- endif -%}" +
		openThinkingTemplate
	f := serveTemplate(t, tmpl)
	var reply struct {
		Choices []struct {
			Message struct {
				Content   string `json:"content"`
				Reasoning string `json:"reasoning_content"`
			} `json:"message"`
		} `json:"choices"`
	}
	f.postOK(t, "/v1/chat/completions", chatBody("Weather in Paris?", map[string]any{"tools": boundedTools,
		"max_tokens": 24, "seed": 1, "temperature": 1, "reasoning_budget_tokens": 2}), &reply)
	msg := reply.Choices[0].Message
	if msg.Content == "" || strings.Contains(msg.Content, "</think>") {
		t.Errorf("reasoning %q, content %q: the budget should have ended the reasoning and the reply gone on", msg.Reasoning, msg.Content)
	}
}
