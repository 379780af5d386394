package grammar

import (
	"errors"
	"strings"
	"testing"
)

func TestUnsupportedSchemasAreErrorsNamingKeywordAndPlace(t *testing.T) {
	for _, tc := range []struct {
		schema, keyword, pointer string
	}{
		{`{"type":"array","uniqueItems":true}`, "uniqueItems", "#"},
		{`{"type":"object","properties":{"n":{"type":"integer","multipleOf":5}}}`, "multipleOf", "#/properties/n"},
		{`{"not":{"type":"string"}}`, "not", "#"},
		{`{"type":"object","patternProperties":{"^x":{}}}`, "patternProperties", "#"},
		{`{"if":{},"then":{}}`, "if", "#"},
		{`{"type":"object","minProperties":1}`, "minProperties", "#"},
		{`{"type":"array","items":{"contains":{"type":"integer"}}}`, "contains", "#/items"},
		{`{"$ref":"https://example.com/schema.json"}`, "$ref", "#"},
		{`{"$ref":"#/$defs/missing"}`, "$ref", "#"},
		{`{"$ref":"#node"}`, "$ref", "#"},
		{`{"type":"string","format":"uri"}`, "format", "#"},
		{`{"type":"string","pattern":"^(?=a).*$"}`, "pattern", "#"},
		{`{"type":"string","pattern":"(a)\\1"}`, "pattern", "#"},
		{`{"type":"string","pattern":"\\bword"}`, "pattern", "#"},
		{`{"type":"string","pattern":"a{3000}"}`, "pattern", "#"},
		{`{"type":"string","pattern":"^a$b"}`, "pattern", "#"},
		{`{"type":"string","pattern":"[z-a]"}`, "pattern", "#"},
		{`{"type":"string","pattern":"(ab"}`, "pattern", "#"},
		{`{"type":"string","pattern":"^x","maxLength":3}`, "minLength", "#"},
		{`{"type":"string","minLength":3000}`, "minLength", "#"},
		{`{"type":"string","minLength":3,"maxLength":2}`, "maxLength", "#"},
		{`{"type":"number","minimum":0.2,"maximum":0.3}`, "maximum", "#"},
		{`{"type":"number","maximum":1e300}`, "maximum", "#"},
		{`{"type":"integer","minimum":5,"maximum":4}`, "minimum", "#"},
		{`{"type":"integer","minimum":1e20}`, "minimum", "#"},
		{`{"type":"array","prefixItems":[{},{}],"maxItems":1}`, "maxItems", "#"},
		{`{"type":"array","items":false,"minItems":1}`, "minItems", "#"},
		{`{"type":"array","minItems":5000}`, "minItems", "#"},
		{`{"type":"array","items":{"type":"integer"},"minItems":7,"maxItems":3}`, "maxItems", "#"},
		{`{"type":"object","properties":{"a":{}},"additionalProperties":false,"required":["b"]}`, "required", "#"},
		{`{"type":"widget"}`, "type", "#"},
		{`{"type":[]}`, "type", "#"},
		{`{"type":"string","enum":[1,2]}`, "enum", "#"},
		{`{"anyOf":[]}`, "anyOf", "#"},
		{`{"allOf":[{"type":"string"},{"type":"integer"}]}`, "allOf", "#/allOf/1"},
		{`{"allOf":[{"properties":{"a":{}},"additionalProperties":false},{"properties":{"b":{}}}]}`, "additionalProperties", "#/allOf/1"},
		{`{"$ref":"#/$defs/a","type":"object","$defs":{"a":{}}}`, "type", "#"},
		{`{"properties":{"a":false},"required":["a"]}`, "", "#/properties/a"},
		{`{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"allOf":[{"$ref":"#/$defs/a"}]}`, "$ref", "#/$defs/"},
	} {
		_, err := FromJSONSchema([]byte(tc.schema))
		var se *SchemaError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a *SchemaError", tc.schema, err)
			continue
		}
		if se.Keyword != tc.keyword || !strings.HasPrefix(se.Pointer, tc.pointer) {
			t.Errorf("%s: error %q names %q at %q, want %q at %q", tc.schema, err, se.Keyword, se.Pointer, tc.keyword, tc.pointer)
		}
	}
}

func TestMalformedSchemaTextIsAnError(t *testing.T) {
	for _, schema := range []string{``, `{`, `{"type":"object"} x`, `"string"`, `[1]`, `42`} {
		if g, err := FromJSONSchema([]byte(schema)); err == nil {
			t.Errorf("FromJSONSchema(%q) = %q, want an error", schema, g)
		}
	}
}

func TestAnnotationsAndUnknownKeywordsAreIgnored(t *testing.T) {
	plain := convert(t, `{"type":"object","properties":{"a":{"type":"string"}}}`)
	annotated := convert(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"T","description":"d",
		"type":"object","x-vendor":1,"properties":{"a":{"type":"string","default":"x","examples":["y"],"deprecated":false}}}`)
	if plain != annotated {
		t.Errorf("annotations changed the grammar:\n%s\nvs\n%s", plain, annotated)
	}
}
