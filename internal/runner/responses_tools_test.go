package runner

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// responsesTools are tools in the Responses shape, {"type":"function","name",...}: chat's tools flattened.
func responsesToolsOf(chat []map[string]any) []map[string]any {
	out := make([]map[string]any, len(chat))
	for i, t := range chat {
		out[i] = map[string]any{"type": "function"}
		for k, v := range t["function"].(map[string]any) {
			out[i][k] = v
		}
	}
	return out
}

// functionCallOutput is an output item of a response as the tool tests read it.
type functionCallOutput struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	Status    string `json:"status"`
}

type toolResponse struct {
	Status     string               `json:"status"`
	Output     []functionCallOutput `json:"output"`
	Tools      []map[string]any     `json:"tools"`
	ToolChoice any                  `json:"tool_choice"`
	Parallel   bool                 `json:"parallel_tool_calls"`
}

// calls are the response's function_call items, checking each one's shape.
func (r toolResponse) calls(t *testing.T) []functionCallOutput {
	t.Helper()
	var out []functionCallOutput
	for _, item := range r.Output {
		if item.Type != "function_call" {
			continue
		}
		var args map[string]any
		if item.ID != "fc_"+item.CallID || item.CallID == "" || item.Status != responseCompleted ||
			json.Unmarshal([]byte(item.Arguments), &args) != nil {
			t.Fatalf("function_call item %+v: want id fc_<call_id>, status completed, arguments a JSON object", item)
		}
		out = append(out, item)
	}
	return out
}

// Under tool_choice "required" or a named function the grammar makes the random model write a call,
// which comes back as a function_call output item; the request's tools and choice are echoed.
func TestResponsesForcedCallIsAFunctionCallItem(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	tools := responsesToolsOf(boundedTools)
	for _, tc := range []struct {
		name   string
		choice any
		want   []string
	}{
		{"required", "required", []string{"get_weather", "get_time"}},
		{"named", map[string]any{"type": "function", "name": "get_time"}, []string{"get_time"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r toolResponse
			f.postOK(t, "/v1/responses", map[string]any{"input": "Weather in Paris?", "tools": tools,
				"tool_choice": tc.choice, "max_output_tokens": 300, "seed": 3}, &r)
			calls := r.calls(t)
			if r.Status != responseCompleted || len(calls) == 0 {
				t.Fatalf("status %q, output %+v: want a completed response with a call", r.Status, r.Output)
			}
			for _, c := range calls {
				if !slices.Contains(tc.want, c.Name) {
					t.Fatalf("call of %q, want one of %v", c.Name, tc.want)
				}
			}
			if len(r.Tools) != 2 || r.Tools[0]["name"] != "get_weather" || !r.Parallel {
				t.Fatalf("echoed tools %v, parallel_tool_calls %v", r.Tools, r.Parallel)
			}
			if got, want := compactJSON(t, r.ToolChoice), compactJSON(t, tc.choice); got != want {
				t.Fatalf("echoed tool_choice %s, sent %s", got, want)
			}
		})
	}
}

// A streamed forced call arrives as OpenAI documents it: the function_call item added, its arguments'
// delta and done, the item done, each numbered in sequence, and the same call as the whole answer.
func TestResponsesFunctionCallStream(t *testing.T) {
	f := serveTemplate(t, llamaTemplate)
	body := func() map[string]any {
		return map[string]any{"input": "Weather in Paris?", "tools": responsesToolsOf(boundedTools),
			"tool_choice": "required", "max_output_tokens": 300, "seed": 5}
	}
	var whole toolResponse
	f.postOK(t, "/v1/responses", body(), &whole)
	wholeCalls := whole.calls(t)
	events := f.typedEvents(t, "/v1/responses", body())
	want := []string{"response.created", "response.in_progress"}
	for range wholeCalls {
		want = append(want, "response.output_item.added", "response.function_call_arguments.delta",
			"response.function_call_arguments.done", "response.output_item.done")
	}
	want = append(want, "response.completed")
	if got := names(events); !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant %v", got, want)
	}
	var args strings.Builder
	for i, ev := range events {
		var d struct {
			SequenceNumber int                `json:"sequence_number"`
			OutputIndex    *int               `json:"output_index"`
			ItemID         string             `json:"item_id"`
			Delta          string             `json:"delta"`
			Arguments      string             `json:"arguments"`
			Name           string             `json:"name"`
			Item           functionCallOutput `json:"item"`
		}
		if err := json.Unmarshal(ev.data, &d); err != nil {
			t.Fatal(err)
		}
		if d.SequenceNumber != i {
			t.Fatalf("event %d %s: sequence_number %d", i, ev.name, d.SequenceNumber)
		}
		c := wholeCalls[0]
		switch ev.name {
		case "response.output_item.added":
			if d.Item.Type != "function_call" || d.Item.Status != responseInProgress || d.Item.Arguments != "" || d.Item.Name != c.Name {
				t.Fatalf("item added %s", ev.data)
			}
		case "response.function_call_arguments.delta":
			if !strings.HasPrefix(d.ItemID, "fc_") || d.OutputIndex == nil || *d.OutputIndex != 0 {
				t.Fatalf("arguments delta %s", ev.data)
			}
			args.WriteString(d.Delta)
		case "response.function_call_arguments.done":
			if d.Arguments != args.String() || d.Arguments != c.Arguments || d.Name != c.Name {
				t.Fatalf("arguments done %s; deltas %q, whole answer %+v", ev.data, args.String(), c)
			}
		case "response.output_item.done":
			if d.Item.Status != responseCompleted || d.Item.Arguments != c.Arguments || d.Item.ID != "fc_"+d.Item.CallID {
				t.Fatalf("item done %s", ev.data)
			}
		}
	}
	var last struct {
		Response toolResponse `json:"response"`
	}
	if err := json.Unmarshal(events[len(events)-1].data, &last); err != nil {
		t.Fatal(err)
	}
	if calls := last.Response.calls(t); len(calls) != len(wholeCalls) || calls[0].Arguments != wholeCalls[0].Arguments {
		t.Fatalf("final response's calls %+v, whole answer's %+v", calls, wholeCalls)
	}
}

// A call and its output sent back as input items render exactly as the same history on chat, on each
// family's template (Mistral's insists on nine-character ids).
func TestResponsesToolHistoryRendersAsChat(t *testing.T) {
	history := toolHistory()
	input := []any{
		map[string]any{"role": "user", "content": "Weather in Paris?"},
		map[string]any{"type": "function_call", "call_id": "abcdefghi", "name": "get_weather", "arguments": `{"city": "Paris"}`},
		map[string]any{"type": "function_call_output", "call_id": "abcdefghi", "output": "sunny"},
		map[string]any{"type": "message", "role": "assistant", "content": []any{map[string]any{"type": "output_text", "text": "Sunny."}}},
		map[string]any{"role": "user", "content": "And Rome?"},
	}
	for _, file := range []string{qwenTemplate, llamaTemplate, nemoTemplate} {
		f := serveTemplate(t, file)
		var chat, resp struct {
			InputTokens int `json:"input_tokens"`
		}
		f.postOK(t, "/v1/chat/completions/input_tokens", history, &chat)
		f.postOK(t, "/v1/responses/input_tokens", map[string]any{"instructions": "Be brief.", "input": input,
			"tools": responsesToolsOf(weatherTools)}, &resp)
		if chat.InputTokens == 0 || resp.InputTokens != chat.InputTokens {
			t.Errorf("%s: responses counts %d input tokens, chat %d for the same history", file, resp.InputTokens, chat.InputTokens)
		}
	}
}

// An assistant message and the calls that follow it are one assistant turn, as llama-server merges them.
func TestResponsesMergesAnAssistantTurn(t *testing.T) {
	input, _ := json.Marshal([]any{
		map[string]any{"role": "user", "content": "hi"},
		map[string]any{"type": "message", "role": "assistant", "content": "Let me look."},
		map[string]any{"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
		map[string]any{"type": "function_call", "call_id": "b", "name": "g", "arguments": "{}"},
		map[string]any{"type": "function_call_output", "call_id": "a", "output": []any{
			map[string]any{"type": "input_text", "text": "one"}, map[string]any{"type": "input_text", "text": "two"}}},
	})
	parallel := false
	chat, apiErr := responsesChat(&responsesRequest{Input: input, ParallelToolCalls: &parallel})
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	m := chat.Messages
	if len(m) != 3 || m[1].Role != "assistant" || m[1].Content != "Let me look." || len(m[1].ToolCalls) != 2 ||
		m[1].ToolCalls[1].ID != "b" || m[2].Role != "tool" || m[2].ToolCallID != "a" || m[2].Content != "one\ntwo" {
		t.Fatalf("messages %+v", m)
	}
	if chat.ParallelToolCalls == nil || *chat.ParallelToolCalls {
		t.Fatalf("parallel_tool_calls not carried over: %v", chat.ParallelToolCalls)
	}
}

func TestResponsesBadToolFields(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	tools := responsesToolsOf(weatherTools)
	call := func(extra map[string]any) []any {
		item := map[string]any{"type": "function_call", "call_id": "abc", "name": "get_weather", "arguments": "{}"}
		for k, v := range extra {
			item[k] = v
		}
		return []any{map[string]any{"role": "user", "content": "hi"}, item,
			map[string]any{"type": "function_call_output", "call_id": "abc", "output": "x"}}
	}
	cases := []struct {
		name string
		body map[string]any
		says string
	}{
		{"tool without a name", map[string]any{"input": "hi", "tools": []any{map[string]any{"type": "function"}}}, `"tools[0].name"`},
		{"tools not an array", map[string]any{"input": "hi", "tools": "get_weather"}, `"tools"`},
		{"unknown tool_choice", map[string]any{"input": "hi", "tools": tools, "tool_choice": "sometimes"}, `"tool_choice"`},
		{"named function not in tools", map[string]any{"input": "hi", "tools": tools,
			"tool_choice": map[string]any{"type": "function", "name": "get_time"}}, "get_time"},
		{"named choice without a name", map[string]any{"input": "hi", "tools": tools,
			"tool_choice": map[string]any{"type": "function"}}, `"tool_choice.name"`},
		{"required without tools", map[string]any{"input": "hi", "tool_choice": "required"}, `needs "tools"`},
		{"call without call_id", map[string]any{"input": call(map[string]any{"call_id": ""}), "tools": tools}, `"input[1].call_id"`},
		{"call without arguments", map[string]any{"input": call(map[string]any{"arguments": nil}), "tools": tools}, `"input[1].arguments"`},
		{"call with broken arguments", map[string]any{"input": call(map[string]any{"arguments": `{"city": `}), "tools": tools}, "arguments of tool call get_weather"},
		{"output without output", map[string]any{"input": []any{map[string]any{"type": "function_call_output", "call_id": "abc"}}}, `"input[0].output"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/v1/responses", "/v1/responses/input_tokens"} {
				expectError(t, f, path, c.body, http.StatusBadRequest, c.says)
			}
		})
	}
	// A template without a tool-call format cannot read calls back: 400, as on chat; "none" only shows them.
	plain := runnerFor(t, false)
	expectError(t, plain, "/v1/responses", map[string]any{"input": "hi", "tools": tools}, http.StatusBadRequest,
		"no tool-call format custos knows")
	var r toolResponse
	plain.postOK(t, "/v1/responses", map[string]any{"input": "hi", "tools": tools, "tool_choice": "none", "max_output_tokens": 2}, &r)
}

// compactJSON is v as compact JSON, for comparing a value echoed back with the one sent.
func compactJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// With tools offered and no call written, the text streams through the tool-call reader that holds back
// what may be a call, and arrives whole: the same text as the whole answer, in one message item.
func TestResponsesStreamWithToolsOfferedSendsTheText(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	body := func() map[string]any {
		return map[string]any{"input": "Weather in Paris?", "tools": responsesToolsOf(weatherTools),
			"max_output_tokens": 24, "seed": 7, "temperature": 1.0}
	}
	var whole responseObject
	f.postOK(t, "/v1/responses", body(), &whole)
	var deltas strings.Builder
	events := f.typedEvents(t, "/v1/responses", body())
	for _, ev := range events {
		var d struct {
			Delta string `json:"delta"`
		}
		if ev.name == "response.output_text.delta" && json.Unmarshal(ev.data, &d) == nil {
			deltas.WriteString(d.Delta)
		}
	}
	if text := whole.text(t); text == "" || deltas.String() != text {
		t.Fatalf("streamed %q, whole answer %q (events %v)", deltas.String(), text, names(events))
	}
}
