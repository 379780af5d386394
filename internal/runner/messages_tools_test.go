package runner

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// anthropicToolsOf are chat's tools in the Anthropic shape, {"name", "description", "input_schema"}.
func anthropicToolsOf(chat []map[string]any) []map[string]any {
	out := make([]map[string]any, len(chat))
	for i, t := range chat {
		fn := t["function"].(map[string]any)
		out[i] = map[string]any{"name": fn["name"], "input_schema": fn["parameters"]}
		if d, ok := fn["description"]; ok {
			out[i]["description"] = d
		}
	}
	return out
}

// toolUseReply is an Anthropic message with tool_use blocks.
type toolUseReply struct {
	Content []struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
}

// Under tool_choice "any" or a named tool the grammar makes the random model write a call, which comes back
// as a tool_use block with stop_reason "tool_use".
func TestMessagesForcedCallIsAToolUseBlock(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	for _, tc := range []struct {
		name   string
		choice map[string]any
		want   []string
	}{
		{"any", map[string]any{"type": "any"}, []string{"get_weather", "get_time"}},
		{"named", map[string]any{"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}, []string{"get_weather"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m toolUseReply
			f.postOK(t, "/v1/messages", messagesBody("Weather in Paris?", map[string]any{"tools": anthropicToolsOf(boundedTools),
				"tool_choice": tc.choice, "max_tokens": 300, "seed": 3}), &m)
			if m.StopReason != "tool_use" || len(m.Content) == 0 {
				t.Fatalf("stop_reason %q, content %+v: want a tool_use", m.StopReason, m.Content)
			}
			for _, b := range m.Content {
				var input map[string]any
				if b.Type != "tool_use" || b.ID == "" || !slices.Contains(tc.want, b.Name) || json.Unmarshal(b.Input, &input) != nil {
					t.Fatalf("block %+v: want a tool_use of one of %v with an object input", b, tc.want)
				}
			}
		})
	}
}

// A streamed call is a tool_use content block opened with its id and name, its input as one
// input_json_delta, and closed; the message ends with stop_reason tool_use, and the input is the whole
// answer's.
func TestMessagesToolUseStream(t *testing.T) {
	f := serveTemplate(t, nemoTemplate)
	body := func() map[string]any {
		return messagesBody("Weather in Paris?", map[string]any{"tools": anthropicToolsOf(boundedTools),
			"tool_choice": map[string]any{"type": "any"}, "max_tokens": 300, "seed": 5})
	}
	var whole toolUseReply
	f.postOK(t, "/v1/messages", body(), &whole)
	events := f.typedEvents(t, "/v1/messages", body())
	want := []string{"message_start", "ping"}
	for range whole.Content {
		want = append(want, "content_block_start", "content_block_delta", "content_block_stop")
	}
	want = append(want, "message_delta", "message_stop")
	if got := names(events); !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant %v", got, want)
	}
	for i, b := range whole.Content {
		var start struct {
			Index        int `json:"index"`
			ContentBlock struct {
				Type, ID, Name string
				Input          map[string]any
			} `json:"content_block"`
		}
		var delta struct {
			Index int `json:"index"`
			Delta struct {
				Type        string `json:"type"`
				PartialJSON string `json:"partial_json"`
			} `json:"delta"`
		}
		if json.Unmarshal(events[2+3*i].data, &start) != nil || json.Unmarshal(events[3+3*i].data, &delta) != nil {
			t.Fatalf("events %s %s", events[2+3*i].data, events[3+3*i].data)
		}
		cb := start.ContentBlock
		if start.Index != i || cb.Type != "tool_use" || cb.ID == "" || len(cb.ID) != 9 || cb.Name != b.Name || cb.Input == nil {
			t.Fatalf("content_block_start %s, whole answer's block %+v (Mistral ids have 9 characters)", events[2+3*i].data, b)
		}
		var streamed, answered any
		if delta.Index != i || delta.Delta.Type != "input_json_delta" || json.Unmarshal([]byte(delta.Delta.PartialJSON), &streamed) != nil ||
			json.Unmarshal(b.Input, &answered) != nil || !reflect.DeepEqual(streamed, answered) {
			t.Fatalf("content_block_delta %s, whole answer's input %s", events[3+3*i].data, b.Input)
		}
	}
	var end struct {
		Delta struct {
			StopReason string `json:"stop_reason"`
		} `json:"delta"`
	}
	if err := json.Unmarshal(events[len(events)-2].data, &end); err != nil || end.Delta.StopReason != "tool_use" {
		t.Fatalf("message_delta %s", events[len(events)-2].data)
	}
}

// tool_use blocks in the assistant's history and tool_result blocks in the user's turn render exactly as
// the same history on chat; count_tokens counts the tools too. is_error changes nothing the template shows.
func TestMessagesToolHistoryRendersAsChat(t *testing.T) {
	messages := func(isError bool) []any {
		return []any{
			map[string]any{"role": "user", "content": "Weather in Paris?"},
			map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "abcdefghi",
				"name": "get_weather", "input": map[string]any{"city": "Paris"}}}},
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "abcdefghi",
				"is_error": isError, "content": []any{map[string]any{"type": "text", "text": "sunny"}}}}},
			map[string]any{"role": "assistant", "content": "Sunny."},
			map[string]any{"role": "user", "content": "And Rome?"},
		}
	}
	for _, file := range []string{qwenTemplate, llamaTemplate, nemoTemplate} {
		f := serveTemplate(t, file)
		var chat, counted, isError, noTools struct {
			InputTokens int `json:"input_tokens"`
		}
		f.postOK(t, "/v1/chat/completions/input_tokens", toolHistory(), &chat)
		body := func(isError bool, tools any) map[string]any {
			return map[string]any{"system": "Be brief.", "messages": messages(isError), "tools": tools}
		}
		f.postOK(t, "/v1/messages/count_tokens", body(false, anthropicToolsOf(weatherTools)), &counted)
		f.postOK(t, "/v1/messages/count_tokens", body(true, anthropicToolsOf(weatherTools)), &isError)
		f.postOK(t, "/v1/messages/count_tokens", body(false, nil), &noTools)
		if chat.InputTokens == 0 || counted.InputTokens != chat.InputTokens || isError.InputTokens != chat.InputTokens {
			t.Errorf("%s: count_tokens %d (with is_error %d), chat %d for the same history", file, counted.InputTokens,
				isError.InputTokens, chat.InputTokens)
		}
		if noTools.InputTokens >= counted.InputTokens {
			t.Errorf("%s: count_tokens %d without the tools, %d with them: the tools are not counted", file,
				noTools.InputTokens, counted.InputTokens)
		}
	}
}

// A user turn's tool results become tool messages in the order of its blocks, its text a user message
// after them; disable_parallel_tool_use turns parallel calls off.
func TestMessagesTurnTranslation(t *testing.T) {
	msgs, _ := json.Marshal([]any{map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "tool_result", "tool_use_id": "a", "content": "one"},
		map[string]any{"type": "tool_result", "tool_use_id": "b"},
		map[string]any{"type": "text", "text": "thanks"},
	}}})
	choice := json.RawMessage(`{"type":"auto","disable_parallel_tool_use":true}`)
	chat, apiErr := messagesChat(&messagesRequest{Messages: msgs, ToolChoice: choice})
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	m := chat.Messages
	if len(m) != 3 || m[0].Role != "tool" || m[0].ToolCallID != "a" || m[0].Content != "one" || m[1].ToolCallID != "b" ||
		m[1].Content != "" || m[2].Role != "user" || m[2].Content != "thanks" {
		t.Fatalf("messages %+v", m)
	}
	if chat.ToolChoice.mode != "auto" || chat.ParallelToolCalls == nil || *chat.ParallelToolCalls {
		t.Fatalf("tool_choice %+v, parallel %v", chat.ToolChoice, chat.ParallelToolCalls)
	}
}

func TestMessagesBadToolFields(t *testing.T) {
	f := serveTemplate(t, qwenTemplate)
	tools := anthropicToolsOf(weatherTools)
	withTool := func(tool map[string]any) map[string]any {
		return messagesBody("hi", map[string]any{"tools": []any{tool}})
	}
	turn := func(role string, block map[string]any) map[string]any {
		return map[string]any{"tools": tools, "messages": []any{map[string]any{"role": "user", "content": "hi"},
			map[string]any{"role": role, "content": []any{block}}}}
	}
	cases := []struct {
		name string
		body map[string]any
		says string
	}{
		{"tool without a name", withTool(map[string]any{"input_schema": map[string]any{"type": "object"}}), `"tools[0].name"`},
		{"no input_schema", withTool(map[string]any{"name": "f"}), `"tools[0].input_schema"`},
		{"input_schema a string", withTool(map[string]any{"name": "f", "input_schema": "object"}), `"tools[0].input_schema"`},
		{"input_schema of another type", withTool(map[string]any{"name": "f", "input_schema": map[string]any{"type": "string"}}), `"tools[0].input_schema"`},
		{"tools not an array", messagesBody("hi", map[string]any{"tools": "f"}), `"tools"`},
		{"tool_choice a string", messagesBody("hi", map[string]any{"tools": tools, "tool_choice": "auto"}), `"tool_choice"`},
		{"unknown tool_choice", messagesBody("hi", map[string]any{"tools": tools, "tool_choice": map[string]any{"type": "some"}}), `"tool_choice.type"`},
		{"tool choice without a name", messagesBody("hi", map[string]any{"tools": tools, "tool_choice": map[string]any{"type": "tool"}}), `"tool_choice.name"`},
		{"named tool not in tools", messagesBody("hi", map[string]any{"tools": tools, "tool_choice": map[string]any{"type": "tool", "name": "get_time"}}), "get_time"},
		{"any without tools", messagesBody("hi", map[string]any{"tool_choice": map[string]any{"type": "any"}}), `needs "tools"`},
		{"tool_use in a user turn", turn("user", map[string]any{"type": "tool_use", "id": "a", "name": "get_weather", "input": map[string]any{}}), `"messages[1].content[0]"`},
		{"tool_result in an assistant turn", turn("assistant", map[string]any{"type": "tool_result", "tool_use_id": "a"}), `"messages[1].content[0]"`},
		{"tool_use without an id", turn("assistant", map[string]any{"type": "tool_use", "name": "get_weather", "input": map[string]any{}}), `"messages[1].content[0].id"`},
		{"tool_use input not an object", turn("assistant", map[string]any{"type": "tool_use", "id": "a", "name": "get_weather", "input": "x"}), `"messages[1].content[0].input"`},
		{"tool_result without tool_use_id", turn("user", map[string]any{"type": "tool_result", "content": "x"}), `"messages[1].content[0].tool_use_id"`},
		{"image in a tool_result", turn("user", map[string]any{"type": "tool_result", "tool_use_id": "a",
			"content": []any{map[string]any{"type": "image", "source": map[string]any{}}}}), `"messages[1].content[0].content[0]"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.body["max_tokens"] = 2
			for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
				expectError(t, f, path, c.body, http.StatusBadRequest, c.says)
			}
		})
	}
	// A template without a tool-call format cannot read calls back: 400, as on chat; "none" only shows them.
	plain := runnerFor(t, false)
	expectError(t, plain, "/v1/messages", messagesBody("hi", map[string]any{"tools": tools}), http.StatusBadRequest,
		"no tool-call format custos knows")
	var m toolUseReply
	plain.postOK(t, "/v1/messages", messagesBody("hi", map[string]any{"tools": tools, "max_tokens": 2,
		"tool_choice": map[string]any{"type": "none"}}), &m)
	if strings.Contains(m.StopReason, "tool") {
		t.Fatalf("tool_choice none: stop_reason %q", m.StopReason)
	}
}

// With tools offered and no call written, the text streams through the tool-call reader and arrives whole:
// the same text as the whole answer, in one text block.
func TestMessagesStreamWithToolsOfferedSendsTheText(t *testing.T) {
	f := serveTemplate(t, llamaTemplate)
	body := func() map[string]any {
		return messagesBody("Weather in Paris?", map[string]any{"tools": anthropicToolsOf(weatherTools),
			"max_tokens": 24, "seed": 7, "temperature": 1.0})
	}
	var whole anthropicMessageReply
	f.postOK(t, "/v1/messages", body(), &whole)
	var deltas strings.Builder
	events := f.typedEvents(t, "/v1/messages", body())
	for _, ev := range events {
		var d struct {
			Delta struct {
				Text string `json:"text"`
			} `json:"delta"`
		}
		if ev.name == "content_block_delta" && json.Unmarshal(ev.data, &d) == nil {
			deltas.WriteString(d.Delta.Text)
		}
	}
	if text := whole.text(t); text == "" || deltas.String() != text {
		t.Fatalf("streamed %q, whole answer %q (events %v)", deltas.String(), text, names(events))
	}
}
