package grammar

import "testing"

// Strings and empty objects are written as llama-server's grammars write them, so that the same seed
// writes the same JSON: no DEL and no \/ escape in a string, and one run of whitespace between the braces
// of an object no property may appear in.
func TestGrammarsWriteStringsAndEmptyObjectsAsLlamaServer(t *testing.T) {
	s := convert(t, `{"type":"string"}`)
	checkDocuments(t, parse(t, s), s, []string{`"a\"b"`, `"a\nb"`, `"\u00e9"`}, []string{"\"a\x7fb\"", `"a\/b"`})
	for _, schema := range []string{`{"type":"object","properties":{}}`, `{"type":"object","properties":{},"additionalProperties":false}`} {
		o := convert(t, schema)
		checkDocuments(t, parse(t, o), o, []string{"{}", "{ }", "{\n  }"}, []string{"{ \n }", "{\n\n\n}"})
	}
}
