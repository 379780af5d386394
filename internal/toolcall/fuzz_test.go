package toolcall

import (
	"testing"
)

// fuzzTools are the tools the fuzzed replies may call: f(a integer, b string).
var fuzzTools = []Tool{{Name: "f", Parameters: []byte(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}}`)}}

// FuzzStreamAgreesWithParse checks, for any reply and any piece size, that parsing never panics and that
// the content a stream releases, with what it holds back, is the content Parse finds.
func FuzzStreamAgreesWithParse(f *testing.F) {
	for _, seed := range []string{
		"<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>",
		" text <tool_call>{\"name\": \"f\"}</tool_call> after",
		`[TOOL_CALLS][{"name": "f", "arguments": {}}]`,
		` {"name": "f", "parameters": {}}; {"name": "g"}`,
		"<|python_tag|>{\"name\": \"f\"}",
		"<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>",
		"text <function=f>\n<parameter=b>\nx\n</parameter>\n</function>",
		"<tool_ca", "<funct", "[TOOL_", "{", "[", "  ",
	} {
		f.Add(seed, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, size uint8) {
		n := int(size%16) + 1
		for _, fam := range []Family{Hermes, Llama3, Mistral, QwenXML, QwenCoder, None} {
			want := Parse(fam, fuzzTools, text)
			streamed, msg, rest := feed(fam, fuzzTools, text, n)
			if msg.Content != want.Content || len(msg.Calls) != len(want.Calls) {
				t.Fatalf("%v: Finish %+v, Parse %+v", fam, msg, want)
			}
			if streamed+rest != want.Content {
				t.Fatalf("%v, pieces of %d: streamed %q + rest %q, want content %q", fam, n, streamed, rest, want.Content)
			}
		}
	})
}
