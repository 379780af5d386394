package toolcall

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	weather := Call{Name: "get_weather", Arguments: `{"city": "Paris"}`}
	time := Call{Name: "get_time", Arguments: `{}`}
	cases := []struct {
		name   string
		family Family
		text   string
		want   Message
	}{
		{"hermes one call", Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
			Message{Calls: []Call{weather}}},
		{"hermes text then two calls", Hermes, "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\"}\n</tool_call>",
			Message{Content: "Checking.\n\n", Calls: []Call{weather, time}}},
		{"hermes unclosed last call", Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
			Message{Calls: []Call{weather}}},
		{"hermes arguments as a string", Hermes, `<tool_call>{"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}</tool_call>`,
			Message{Calls: []Call{weather}}},
		{"hermes broken JSON stays content", Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"argu",
			Message{Content: "<tool_call>\n{\"name\": \"get_weather\", \"argu"}},
		{"hermes plain text", Hermes, "Hello <b>there</b>", Message{Content: "Hello <b>there</b>"}},
		{"leading whitespace dropped", Hermes, " \n Hello", Message{Content: "Hello"}},
		{"llama3 bare JSON", Llama3, ` {"name": "get_weather", "parameters": {"city": "Paris"}}`,
			Message{Calls: []Call{weather}}},
		{"llama3 python tag", Llama3, `Sure.<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "get_time", "parameters": {}}`,
			Message{Content: "Sure.", Calls: []Call{weather, time}}},
		{"llama3 JSON that is not a call", Llama3, `{"answer": 42}`, Message{Content: `{"answer": 42}`}},
		{"llama3 plain text", Llama3, "It is sunny.", Message{Content: "It is sunny."}},
		{"mistral calls with an id", Mistral, `[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abcdefghi"}, {"name": "get_time", "arguments": {}}]`,
			Message{Calls: []Call{{ID: "abcdefghi", Name: "get_weather", Arguments: `{"city": "Paris"}`}, time}}},
		{"mistral bare array", Mistral, ` [{"name": "get_time", "arguments": {}}]`, Message{Calls: []Call{time}}},
		{"mistral plain text", Mistral, "[citation] needed", Message{Content: "[citation] needed"}},
		{"mistral trailing text stays content", Mistral, `[TOOL_CALLS][{"name": "get_time", "arguments": {}}] and more`,
			Message{Content: `[TOOL_CALLS][{"name": "get_time", "arguments": {}}] and more`}},
		{"mistral arguments not an object", Mistral, `[TOOL_CALLS][{"name": "get_time", "arguments": [1]}]`,
			Message{Content: `[TOOL_CALLS][{"name": "get_time", "arguments": [1]}]`}},
		{"unknown family", None, `<tool_call>{"name": "get_time"}</tool_call>`,
			Message{Content: `<tool_call>{"name": "get_time"}</tool_call>`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Parse(c.family, nil, c.text); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Parse(%v, %q)\n got %+v\nwant %+v", c.family, c.text, got, c.want)
			}
		})
	}
}

func TestPrefillThenOutputParses(t *testing.T) {
	cases := []struct {
		family       Family
		name, output string
	}{
		{Hermes, "get_weather", "{\"city\": \"Paris\"}}\n</tool_call>"},
		{Hermes, "", "get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"},
		{Llama3, "get_weather", `{"city": "Paris"}}`},
		{Mistral, "get_weather", `{"city": "Paris"}}]`},
	}
	for _, c := range cases {
		msg := Parse(c.family, nil, Prefill(c.family, c.name)+c.output)
		want := []Call{{Name: "get_weather", Arguments: `{"city": "Paris"}`}}
		if !reflect.DeepEqual(msg.Calls, want) || msg.Content != "" {
			t.Errorf("%v %q: got %+v", c.family, c.name, msg)
		}
	}
}

func TestNewCallID(t *testing.T) {
	if id := NewCallID(Mistral); len(id) != 9 {
		t.Errorf("Mistral id %q: want 9 characters", id)
	}
	a, b := NewCallID(Hermes), NewCallID(Hermes)
	if len(a) != 32 || a == b {
		t.Errorf("ids %q and %q: want 32 characters, different", a, b)
	}
}
