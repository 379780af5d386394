package toolcall

import (
	"testing"
)

// FuzzStreamAgreesWithParse checks, for any reply and any piece size, that parsing never panics and that
// the content a stream releases, with what it holds back, is the content Parse finds.
func FuzzStreamAgreesWithParse(f *testing.F) {
	for _, seed := range []string{
		"<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>",
		" text <tool_call>{\"name\": \"f\"}</tool_call> after",
		`[TOOL_CALLS][{"name": "f", "arguments": {}}]`,
		` {"name": "f", "parameters": {}}; {"name": "g"}`,
		"<|python_tag|>{\"name\": \"f\"}",
		"<tool_ca", "[TOOL_", "{", "[", "  ",
	} {
		f.Add(seed, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, size uint8) {
		n := int(size%16) + 1
		for _, fam := range []Family{Hermes, Llama3, Mistral, None} {
			want := Parse(fam, text)
			streamed, msg, rest := feed(fam, text, n)
			if msg.Content != want.Content || len(msg.Calls) != len(want.Calls) {
				t.Fatalf("%v: Finish %+v, Parse %+v", fam, msg, want)
			}
			if streamed+rest != want.Content {
				t.Fatalf("%v, pieces of %d: streamed %q + rest %q, want content %q", fam, n, streamed, rest, want.Content)
			}
		}
	})
}
