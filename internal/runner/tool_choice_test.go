package runner

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// toolReply is a chat completion with tool calls.
type toolReply struct {
	Choices []struct {
		Message struct {
			Content   string `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct{ Name, Arguments string }
			} `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// boundedTools have arguments of bounded length, so that a call written under their grammar ends well
// within the tests' token limits, whatever a random model samples.
var boundedTools = []map[string]any{
	{"type": "function", "function": map[string]any{"name": "get_weather",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{
			"city": map[string]any{"type": "string", "maxLength": 8}}, "required": []string{"city"}}}},
	{"type": "function", "function": map[string]any{"name": "get_time",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{}}}},
}

// A random model never writes a tool call of its own accord. Under tool_choice "required" or a named
// function the grammar of the tools' schemas writes it: the reply is always a well-formed call of an
// allowed tool, with arguments that follow its schema, in each template family's format.
func TestRequiredToolCallIsWellFormed(t *testing.T) {
	for _, tc := range []struct {
		name, template string
		choice         any
		want           []string
	}{
		{"hermes required", qwenTemplate, "required", []string{"get_weather", "get_time"}},
		{"llama3 required", llamaTemplate, "required", []string{"get_weather", "get_time"}},
		{"mistral required", nemoTemplate, "required", []string{"get_weather", "get_time"}},
		{"hermes named", qwenTemplate, map[string]any{"type": "function", "function": map[string]any{"name": "get_weather"}}, []string{"get_weather"}},
		{"mistral named", nemoTemplate, map[string]any{"type": "function", "function": map[string]any{"name": "get_time"}}, []string{"get_time"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := serveTemplate(t, tc.template)
			for seed := range 3 {
				var reply toolReply
				f.postOK(t, "/v1/chat/completions", chatBody("Weather in Paris?", map[string]any{"tools": boundedTools,
					"tool_choice": tc.choice, "max_tokens": 300, "seed": seed, "temperature": 1}), &reply)
				ch := reply.Choices[0]
				if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) == 0 {
					t.Fatalf("seed %d: finish %q, content %q, no tool call", seed, ch.FinishReason, ch.Message.Content)
				}
				for _, c := range ch.Message.ToolCalls {
					if !slices.Contains(tc.want, c.Function.Name) || c.Type != "function" || c.ID == "" {
						t.Fatalf("seed %d: call %+v, want one of %v", seed, c, tc.want)
					}
					var args map[string]any
					if err := json.Unmarshal([]byte(c.Function.Arguments), &args); err != nil {
						t.Fatalf("seed %d: arguments %q are not a JSON object: %v", seed, c.Function.Arguments, err)
					}
					city, ok := args["city"].(string)
					if c.Function.Name == "get_weather" && (!ok || len([]rune(city)) > 8) {
						t.Fatalf("seed %d: get_weather arguments %q do not follow its schema", seed, c.Function.Arguments)
					}
				}
			}
		})
	}
}

// The prompt of a forced call ends with the family's opening marker only: the grammar writes the rest.
func TestRequiredToolCallPromptEndsWithTheOpening(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	body := chatBody("Weather in Paris?", map[string]any{"tools": boundedTools, "tool_choice": "required"})
	if prompt := applyTemplate(t, f, body); !strings.HasSuffix(prompt, "<|im_start|>assistant\n<tool_call>\n") {
		t.Errorf("the prompt does not end with the call's opening:\n%s", prompt)
	}
	code, raw := f.post(t, "/v1/chat/completions", chatBody("x", map[string]any{"tools": boundedTools,
		"tool_choice": "required", "response_format": map[string]any{"type": "json_object"}}))
	if msg, _ := errorOf(t, raw); code != 400 || !strings.Contains(msg, "tool_choice") {
		t.Errorf("required call with response_format: %d %s", code, raw)
	}
}

func TestRequiredToolChoiceStreamsLikeTheWholeReply(t *testing.T) {
	f := serveTemplate(t, llamaTemplate)
	body := func() map[string]any {
		return chatBody("Weather in Paris?", map[string]any{"tools": boundedTools, "tool_choice": "required",
			"max_tokens": 300, "seed": 5})
	}
	var whole toolReply
	f.postOK(t, "/v1/chat/completions", body(), &whole)
	events, done := f.streamEvents(t, "/v1/chat/completions", body())
	if !done {
		t.Fatal("no [DONE]")
	}
	var content strings.Builder
	var calls []string
	finish := ""
	for _, ev := range events {
		var ch struct {
			Choices []struct {
				Delta struct {
					Content   string `json:"content"`
					ToolCalls []struct {
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(ev, &ch); err != nil {
			t.Fatal(err)
		}
		content.WriteString(ch.Choices[0].Delta.Content)
		for _, c := range ch.Choices[0].Delta.ToolCalls {
			calls = append(calls, c.Function.Name+" "+c.Function.Arguments)
		}
		if ch.Choices[0].FinishReason != nil {
			finish = *ch.Choices[0].FinishReason
		}
	}
	w := whole.Choices[0]
	var wholeCalls []string
	for _, c := range w.Message.ToolCalls {
		wholeCalls = append(wholeCalls, c.Function.Name+" "+c.Function.Arguments)
	}
	if content.String() != w.Message.Content || !slices.Equal(calls, wholeCalls) || finish != w.FinishReason || finish != "tool_calls" {
		t.Errorf("stream: content %q, calls %q, finish %q; whole reply: content %q, calls %q, finish %q",
			content.String(), calls, finish, w.Message.Content, wholeCalls, w.FinishReason)
	}
}

func TestParseToolCallsFalseLeavesTheText(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	body := chatBody("Weather in Paris?", map[string]any{"tools": weatherTools, "tool_choice": "required",
		"parse_tool_calls": false})
	if prompt := applyTemplate(t, f, body); !strings.HasSuffix(prompt, "<|im_start|>assistant\n") {
		t.Errorf("with parse_tool_calls false nothing should open a call:\n%s", prompt)
	}
}

// Tools whose argument schemas the grammar converter refuses still get a call forced, by its first
// characters in the prompt, rather than a refused request.
func TestRequiredToolCallBeyondTheGrammarFallsBackToAPrefill(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	tools := []map[string]any{{"type": "function", "function": map[string]any{"name": "odd",
		"parameters": map[string]any{"type": "object", "not": map[string]any{"required": []string{"x"}}}}}}
	body := chatBody("x", map[string]any{"tools": tools, "tool_choice": "required"})
	if prompt := applyTemplate(t, f, body); !strings.HasSuffix(prompt, "<tool_call>\n{\"name\": \"") {
		t.Errorf("the prompt does not end with the call's first characters:\n%s", prompt)
	}
}

// A tool without arguments is often declared with "parameters": {}; its forced call must still have an
// object for arguments, or it is no call.
func TestRequiredCallOfAToolWithEmptyParameters(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	tools := []map[string]any{{"type": "function", "function": map[string]any{"name": "ping", "parameters": map[string]any{}}}}
	for seed := range 6 {
		var reply toolReply
		f.postOK(t, "/v1/chat/completions", chatBody("ping?", map[string]any{"tools": tools, "tool_choice": "required",
			"max_tokens": 300, "seed": seed, "temperature": 1}), &reply)
		ch := reply.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.ToolCalls[0].Function.Name != "ping" {
			t.Fatalf("seed %d: finish %q, calls %+v, content %q", seed, ch.FinishReason, ch.Message.ToolCalls, ch.Message.Content)
		}
	}
}

// Requests that ask for two formats at once, or for a forced call the reply cannot be, are refused by
// name rather than answered with one of the two ignored.
func TestToolChoiceConflictsAreRefused(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	for name, body := range map[string]map[string]any{
		"auto with a grammar": chatBody("x", map[string]any{"tools": boundedTools, "grammar": `root ::= "a"`}),
		"required while continuing an assistant message": {"tools": boundedTools, "tool_choice": "required",
			"messages": []map[string]any{{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "Let me"}}},
	} {
		code, raw := f.post(t, "/v1/chat/completions", body)
		if msg, _ := errorOf(t, raw); code != 400 || !strings.Contains(msg, "tool_choice") {
			t.Errorf("%s: %d %s", name, code, raw)
		}
	}
	var reply toolReply
	f.postOK(t, "/v1/chat/completions", chatBody("x", map[string]any{"tools": boundedTools, "tool_choice": "none",
		"grammar": `root ::= "a"`, "max_tokens": 4}), &reply)
	if reply.Choices[0].Message.Content != "a" {
		t.Errorf("tool_choice none with a grammar: content %q, want \"a\"", reply.Choices[0].Message.Content)
	}
}

// TestRequiredToolCallsMayBeParallel: under tool_choice "required" with parallel_tool_calls, a Hermes
// reply's grammar lets it write further calls after the first, as llama-server's does; with it false or
// left out, exactly one. A random model seldom ends a reply, so its end-of-turn token
// is favoured enough for some replies to end after one call and others after several.
func TestRequiredToolCallsMayBeParallel(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	var endOfTurn struct {
		Tokens []int `json:"tokens"`
	}
	f.postOK(t, "/tokenize", map[string]any{"content": "<|im_end|>"}, &endOfTurn)
	// parallel is parallel_tool_calls, nil to leave it out.
	calls := func(seed int, parallel any) int {
		var reply toolReply
		body := map[string]any{"tools": boundedTools[1:], "tool_choice": "required", "max_tokens": 400, "seed": seed,
			"temperature": 1, "logit_bias": [][]any{{endOfTurn.Tokens[0], 4}}}
		if parallel != nil {
			body["parallel_tool_calls"] = parallel
		}
		f.postOK(t, "/v1/chat/completions", chatBody("What time is it?", body), &reply)
		ch := reply.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) == 0 {
			t.Fatalf("seed %d, parallel %v: finish %q, content %q, no tool call", seed, parallel, ch.FinishReason, ch.Message.Content)
		}
		for _, c := range ch.Message.ToolCalls {
			var args map[string]any
			if c.Function.Name != "get_time" || json.Unmarshal([]byte(c.Function.Arguments), &args) != nil || len(args) != 0 {
				t.Fatalf("seed %d, parallel %v: call %+v, want get_time with no arguments", seed, parallel, c)
			}
		}
		return len(ch.Message.ToolCalls)
	}
	most := 0
	for seed := range 10 {
		most = max(most, calls(seed, true))
		if n := calls(seed, false); n != 1 {
			t.Fatalf("seed %d: %d calls under parallel_tool_calls false, want 1", seed, n)
		}
		if n := calls(seed, nil); n != 1 {
			t.Fatalf("seed %d: %d calls without parallel_tool_calls, want 1", seed, n)
		}
	}
	if most < 2 {
		t.Fatal("no reply of ten wrote more than one call under parallel_tool_calls")
	}
}
