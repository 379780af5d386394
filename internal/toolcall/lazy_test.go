package toolcall

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var lazyTools = []Tool{
	{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)},
	{Name: "get_time"},
}

// llama-server triggers Hermes calls on "<tool_call>" and its line break, Mistral calls on [TOOL_CALLS], and
// leaves Llama 3.x calls, which have no marker, unconstrained; it writes those markers out.
func TestTriggersPerFamily(t *testing.T) {
	for f, want := range map[Family][]string{Hermes: {"<tool_call>\n"}, Mistral: {"[TOOL_CALLS]"}, Llama3: nil, None: nil} {
		if got := Triggers(f, nil); !reflect.DeepEqual(got, want) {
			t.Errorf("Triggers(%v) = %q, want %q", f, got, want)
		}
	}
	for f, want := range map[Family][]string{Hermes: {"<tool_call>", "</tool_call>"}, Mistral: {"[TOOL_CALLS]"}, Llama3: nil} {
		if got := Preserved(f); !reflect.DeepEqual(got, want) {
			t.Errorf("Preserved(%v) = %q, want %q", f, got, want)
		}
	}
	if _, err := LazyGrammar(Llama3, lazyTools, false); err == nil {
		t.Error("a lazy grammar for Llama 3.x, which has no trigger, was written")
	}
}

// The grammar sees the text from the trigger on, so each of its root's alternatives opens with the trigger;
// the calls' shape is llama-server's.
func TestLazyGrammarOpensWithTheTrigger(t *testing.T) {
	for _, tc := range []struct {
		family   Family
		parallel bool
		rules    []string
	}{
		{Hermes, false, []string{`root ::= tool-call | tool-calls`, `tool-calls ::= (tool-call? ws)+`,
			`tool-call ::= "<tool_call>\n" ws (tool-get-weather | tool-get-time) ws "</tool_call>"`}},
		{Hermes, true, []string{`tool-call ::= "<tool_call>\n" ws (tool-get-weather | tool-get-time) (ws "," ws (tool-get-weather | tool-get-time))* ws "</tool_call>"`}},
		{Mistral, false, []string{`root ::= tool-call`, `tool-call ::= "[TOOL_CALLS]" ws "[" ws (tool-get-weather | tool-get-time) ws "]" ws`,
			`tool-get-time ::= "{" ws "\"name\"" ws ":" ws "\"get_time\"" ws "," ws "\"arguments\"" ws ":" ws tool-get-time-schema ws "," ws ("\"id\"" ws ":" ws tool-call-id)? ws "}"`}},
		{Mistral, true, []string{`"[" ws (tool-get-weather | tool-get-time) (ws "," ws (tool-get-weather | tool-get-time))* ws "]"`}},
	} {
		g, err := LazyGrammar(tc.family, lazyTools, tc.parallel)
		if err != nil {
			t.Fatalf("%v: %v", tc.family, err)
		}
		for _, rule := range tc.rules {
			if !strings.Contains(g, rule) {
				t.Errorf("%v (parallel %v): the grammar has no %s:\n%s", tc.family, tc.parallel, rule, g)
			}
		}
	}
}

// What llama-server's lazy grammars write reads back as calls: parallel Hermes calls share one block,
// separated by commas; free text may hold a stray opening before the one that triggered the grammar; and
// a Mistral call without an id keeps the comma after its arguments.
func TestParseReadsWhatTheLazyGrammarsWrite(t *testing.T) {
	weather := Call{Name: "get_weather", Arguments: `{"city": "Paris"}`}
	time := Call{Name: "get_time", Arguments: `{}`}
	for _, tc := range []struct {
		family Family
		text   string
		want   Message
	}{
		{Hermes, "Sure.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}} , {\"name\": \"get_time\", \"arguments\": {}}</tool_call>",
			Message{Content: "Sure.", Calls: []Call{weather, time}}},
		{Hermes, "<tool_call>wh\n<tool_call><tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n",
			Message{Content: "<tool_call>wh\n<tool_call>", Calls: []Call{time}}},
		{Mistral, `[TOOL_CALLS] [ {"name": "get_time", "arguments": {} , } ]`, Message{Calls: []Call{time}}},
		{Mistral, `[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "a,}"}, {"name": "get_time", "arguments": {},}]`,
			Message{Calls: []Call{{ID: "a,}", Name: "get_weather", Arguments: `{"city": "Paris"}`}, time}}},
	} {
		if got := Parse(tc.family, nil, tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%v, %q)\n got %+v\nwant %+v", tc.family, tc.text, got, tc.want)
		}
	}
}
