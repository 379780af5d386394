package toolcall

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// The models' own templates, as llama.cpp keeps them (see internal/chattemplate/testdata).
func TestDetectXMLTemplates(t *testing.T) {
	for file, want := range map[string]Family{
		"Qwen3-Coder.jinja":                         QwenCoder,
		"Qwen3.5-4B.jinja":                          QwenXML,
		"NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja": QwenXML,
	} {
		src, err := os.ReadFile("../chattemplate/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(string(src)); got != want {
			t.Errorf("Detect(%s) = %v, want %v", file, got, want)
		}
	}
	// Tags written without line breaks between them are another format.
	if got := Detect("{{ '<tool_call><function=' ~ tool_call.name ~ '>' }}<parameter=x>"); got != None {
		t.Errorf("XML calls without line breaks: %v, want none", got)
	}
}

// weatherTools take a string city, an integer days (optional) and units that may be a string or null.
var weatherTools = []Tool{
	{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"},` +
		`"days":{"type":"integer"},"units":{"type":["string","null"]},"where":{"$ref":"#/$defs/point"}},` +
		`"required":["city"],"$defs":{"point":{"type":"object","properties":{"lat":{"type":"number"}}}}}`)},
	{Name: "get_time", Parameters: []byte(`{}`)},
	{Name: "f", Parameters: []byte(`{"properties":{"n":{"type":["integer","string"]},"m":{"type":["integer","string"]}}}`)},
}

func TestParseXML(t *testing.T) {
	call := func(name, args string) Call { return Call{Name: name, Arguments: args} }
	cases := []struct {
		name   string
		family Family
		text   string
		want   Message
	}{
		{"a string parameter is its text", QwenXML,
			"<tool_call>\n<function=get_weather>\n<parameter=city>\nSan Francisco\n</parameter>\n</function>\n</tool_call>",
			Message{Calls: []Call{call("get_weather", `{"city":"San Francisco"}`)}}},
		{"a string that looks like a number stays a string", QwenXML,
			"<tool_call>\n<function=get_weather>\n<parameter=city>\n42\n</parameter>\n</function>\n</tool_call>",
			Message{Calls: []Call{call("get_weather", `{"city":"42"}`)}}},
		{"an integer is JSON, a reference is its target's type", QwenXML,
			"<tool_call>\n<function=get_weather>\n<parameter=days>\n3\n</parameter>\n<parameter=where>\n{\"lat\": 1.5}\n</parameter>\n<parameter=city>\nOslo\n</parameter>\n</function>\n</tool_call>",
			Message{Calls: []Call{call("get_weather", `{"days":3,"where":{"lat": 1.5},"city":"Oslo"}`)}}},
		{"string or null: JSON null first, else the text", QwenXML,
			"<tool_call>\n<function=get_weather>\n<parameter=units>\nnull\n</parameter>\n</function>\n</tool_call>" +
				"<tool_call>\n<function=get_weather>\n<parameter=units>\n\"metric\"\n</parameter>\n</function>\n</tool_call>",
			Message{Calls: []Call{call("get_weather", `{"units":null}`), call("get_weather", `{"units":"\"metric\""}`)}}},
		{"code keeps its characters and lines", QwenCoder,
			"<tool_call>\n<function=get_weather>\n<parameter=city>\nif a < b && c > d {\n\treturn \"x\"\n}\n</parameter>\n</function>\n</tool_call>",
			Message{Calls: []Call{call("get_weather", `{"city":"if a < b && c > d {\n\treturn \"x\"\n}"}`)}}},
		{"a value may hold the closing tag's text", QwenCoder,
			"<tool_call>\n<function=get_weather>\n<parameter=city>\nprint(\"</parameter>\")\n</parameter>\n</function>\n</tool_call>",
			Message{Calls: []Call{call("get_weather", `{"city":"print(\"</parameter>\")"}`)}}},
		{"carriage returns and the text's own line breaks stay", QwenXML,
			"<tool_call>\n<function=get_weather>\n<parameter=city>\n\rOslo\r\n\n</parameter>\n</function>\n</tool_call>",
			Message{Calls: []Call{call("get_weather", `{"city":"\rOslo\r\n"}`)}}},
		{"JSON with space around it is text where text is allowed; any number where numbers are", QwenXML,
			"<tool_call>\n<function=f>\n<parameter=n>\n 5\n</parameter>\n<parameter=m>\n1.5\n</parameter>\n</function>\n</tool_call>",
			Message{Calls: []Call{call("f", `{"n":" 5","m":1.5}`)}}},
		{"content before, no arguments, no closing tag at the end", QwenXML,
			"Let me see.\n<tool_call>\n<function=get_time>\n</function>\n",
			Message{Content: "Let me see.\n", Calls: []Call{call("get_time", `{}`)}}},
		{"Qwen3-Coder's first call may leave out <tool_call>", QwenCoder,
			"Sure. <function=get_time>\n</function>\n</tool_call>",
			Message{Content: "Sure. ", Calls: []Call{call("get_time", `{}`)}}},
		{"other templates' calls may not", QwenXML,
			"Sure. <function=get_time>\n</function>\n</tool_call>",
			Message{Content: "Sure. <function=get_time>\n</function>\n</tool_call>"}},
		{"a bare <function= of no tool is content", QwenCoder,
			"#include <function=x>",
			Message{Content: "#include <function=x>"}},
		{"a block that is not well-formed is content, and a call may follow", QwenXML,
			"<tool_call>oops</tool_call>\n<tool_call>\n<function=get_time>\n</function>\n</tool_call>",
			Message{Content: "<tool_call>oops</tool_call>\n", Calls: []Call{call("get_time", `{}`)}}},
		{"an unclosed parameter is no call", QwenXML,
			"<tool_call>\n<function=get_weather>\n<parameter=city>\nOs",
			Message{Content: "<tool_call>\n<function=get_weather>\n<parameter=city>\nOs"}},
		{"text after the function before </tool_call> is no call", QwenXML,
			"<tool_call>\n<function=get_time>\n</function>\nand more",
			Message{Content: "<tool_call>\n<function=get_time>\n</function>\nand more"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Parse(c.family, weatherTools, c.text); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Parse(%v, %q)\n got %+v\nwant %+v", c.family, c.text, got, c.want)
			}
		})
	}
}

func TestXMLPrefillAndParse(t *testing.T) {
	text := Prefill(QwenXML, "get_weather") + "<parameter=city>\nRome\n</parameter>\n</function>\n</tool_call>"
	msg := Parse(QwenXML, weatherTools, text)
	if len(msg.Calls) != 1 || msg.Calls[0].Arguments != `{"city":"Rome"}` || msg.Content != "" {
		t.Fatalf("prefilled call: %+v", msg)
	}
}

func TestXMLStreamHoldsFromTheBareFunction(t *testing.T) {
	text := "Sure, <b>. <function=get_time>\n</function>\n"
	for n := 1; n <= len(text); n++ {
		streamed, msg, rest := feed(QwenCoder, weatherTools, text, n)
		if streamed+rest != "Sure, <b>. " || len(msg.Calls) != 1 || strings.Contains(streamed, "<f") {
			t.Fatalf("pieces of %d: streamed %q, rest %q, calls %+v", n, streamed, rest, msg.Calls)
		}
	}
}

func TestXMLTriggers(t *testing.T) {
	if got, want := Triggers(QwenCoder, weatherTools), []string{"<tool_call>", "<function=get_weather>", "<function=get_time>", "<function=f>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Qwen3-Coder's triggers: %q, want %q", got, want)
	}
	if got, want := Triggers(QwenXML, weatherTools), []string{"<tool_call>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Qwen3.5's triggers: %q, want %q", got, want)
	}
}

func TestXMLGrammars(t *testing.T) {
	lazy, err := LazyGrammar(QwenCoder, weatherTools, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`root ::= tool-call-first tool-call*`,
		`tool-call-first ::= ("<tool_call>\n")? tool-call-body`,
		`"<parameter=days>\n" tool-get-weather-arg-days-schema "\n</parameter>\n"`,
		// city is required, the others optional and repeatable; units allows text, so it is text.
		`"<function=get_weather>\n" tool-get-weather-arg-city (tool-get-weather-arg-days | tool-get-weather-arg-units | tool-get-weather-arg-where)* "</function>\n"`,
		`tool-get-weather-arg-units ::= "<parameter=units>\n" xml-arg-string`,
		`"<function=get_time>\n" "</function>\n"`,
	} {
		if !strings.Contains(lazy, want) {
			t.Errorf("the lazy grammar lacks %q:\n%s", want, lazy)
		}
	}
	if strings.Count(lazy, "xml-arg-string ::=") != 1 {
		t.Errorf("the text rule is not shared:\n%s", lazy)
	}
	forced, err := ForcedGrammar(QwenXML, weatherTools[:1], false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(forced, "root ::= tool-call-body\n") || strings.Contains(forced, "get_time") {
		t.Errorf("the forced grammar of get_weather:\n%s", forced)
	}
}

// Required parameters come in any order, by a rule for each set still to come, as llama-server's.
func TestXMLRequiredParametersInAnyOrder(t *testing.T) {
	tool := Tool{Name: "f", Parameters: []byte(`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a","b"]}`)}
	g, err := LazyGrammar(QwenXML, []Tool{tool}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"tool-f-args-3 ::= tool-f-arg-a tool-f-args-2 | tool-f-arg-b tool-f-args-1",
		"tool-f-args-1 ::= tool-f-arg-a",
		"tool-f-args-2 ::= tool-f-arg-b",
	} {
		if !strings.Contains(g, want) {
			t.Errorf("the grammar lacks %q:\n%s", want, g)
		}
	}
}
