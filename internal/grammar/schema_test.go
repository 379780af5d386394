package grammar

import "testing"

// schemaCase is a schema with documents its grammar must take and documents it must refuse.
type schemaCase struct {
	name           string
	schema         string
	valid, invalid []string
}

var schemaCases = []schemaCase{
	{"empty schema is any value", `{}`,
		[]string{`{"a":[1,2.5,"x",null,true]}`, `[]`, `"s"`, `-3e5`, `false`, `null`, `{ "a" : { } }`},
		[]string{`{a:1}`, `[1,]`, `'s'`, `01`, `nul`, ``}},
	{"boolean schema true", `true`, []string{`1`, `{}`}, []string{`x`}},
	{"object with required and optional properties", `{"type":"object","properties":{
		"name":{"type":"string"},"age":{"type":"integer"},"email":{"type":"string"}},"required":["name","age"]}`,
		[]string{`{"name":"Ada","age":36}`, `{"name":"Ada","age":36,"email":"a@b.c"}`,
			"{\n  \"name\": \"Ada\",\n  \"age\": 36\n}"},
		[]string{`{"name":"Ada"}`, `{"age":36}`, `{"name":"Ada","age":"36"}`, `{"name":"Ada","age":36,"x":1}`,
			`{"name":"Ada","age":36,}`, `{"name":"Ada","age":3.5}`, `[]`}},
	{"all properties optional", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"}}}`,
		[]string{`{}`, `{"a":1}`, `{"b":true}`, `{"a":1,"b":false}`},
		[]string{`{"a":1,}`, `{,"b":true}`, `{"c":1}`, `{"b":true,"b":true}`}},
	{"additionalProperties false", `{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false}`,
		[]string{`{}`, `{"a":1}`}, []string{`{"a":1,"b":2}`, `{"b":2}`}},
	{"additionalProperties true", `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":true}`,
		[]string{`{"a":1}`, `{"a":1,"b":[null]}`, `{"a":1,"ab":"x","c":{}}`},
		[]string{`{"b":2}`, `{"a":1,"a":2}`, `{"a":1,"b"}`}},
	{"additionalProperties schema", `{"type":"object","additionalProperties":{"type":"number"}}`,
		[]string{`{}`, `{"x":1}`, `{"x":1,"y":-2.5e3}`}, []string{`{"x":"1"}`, `{"x":null}`}},
	{"required property not declared", `{"type":"object","required":["id"]}`,
		[]string{`{"id":7}`, `{"id":"x"}`}, []string{`{}`, `{"other":7}`}},
	{"nested objects", `{"type":"object","properties":{"user":{"type":"object","properties":{
		"id":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}},"required":["id","tags"]}},"required":["user"]}`,
		[]string{`{"user":{"id":1,"tags":[]}}`, `{"user":{"id":1,"tags":["a","b"]}}`},
		[]string{`{"user":{"id":1}}`, `{"user":{"id":1,"tags":[1]}}`, `{"user":{}}`}},
	{"array of integers with bounds on the count", `{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}`,
		[]string{`[1,2]`, `[1, 2, 3]`}, []string{`[]`, `[1]`, `[1,2,3,4]`, `[1,"2"]`}},
	{"array with only minItems", `{"type":"array","items":{"type":"boolean"},"minItems":1}`,
		[]string{`[true]`, `[true,false,true,true]`}, []string{`[]`}},
	{"array with only maxItems", `{"type":"array","items":{"type":"null"},"maxItems":2}`,
		[]string{`[]`, `[null]`, `[null,null]`}, []string{`[null,null,null]`}},
	{"array with maxItems 0", `{"type":"array","maxItems":0}`, []string{`[]`, `[ ]`}, []string{`[1]`}},
	{"array without items is any values", `{"type":"array"}`, []string{`[]`, `[1,"a",{}]`}, []string{`[,]`}},
	{"prefixItems tuple", `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]}`,
		[]string{`["a",1]`}, []string{`["a"]`, `[1,"a"]`, `["a",1,2]`}},
	{"prefixItems then items", `{"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"integer"},"maxItems":3}`,
		[]string{`["a"]`, `["a",1]`, `["a",1,2]`}, []string{`["a",1,2,3]`, `["a","b"]`, `[1]`}},
	{"draft-04 items array", `{"type":"array","items":[{"type":"boolean"}],"additionalItems":false}`,
		[]string{`[true]`}, []string{`[true,false]`, `[]`}},
	{"string enum", `{"type":"string","enum":["red","green","blue"]}`,
		[]string{`"red"`, `"blue"`}, []string{`"Red"`, `"yellow"`, `red`, `""`}},
	{"mixed enum", `{"enum":["a",1,null,true,{"k":[1]}]}`,
		[]string{`"a"`, `1`, `null`, `true`, `{"k":[1]}`}, []string{`"b"`, `2`, `false`, `{"k":[2]}`}},
	{"enum filtered by type", `{"type":"string","enum":["a",1]}`, []string{`"a"`}, []string{`1`}},
	{"const", `{"const":"fixed \"value\""}`, []string{`"fixed \"value\""`}, []string{`"fixed"`}},
	{"string lengths", `{"type":"string","minLength":2,"maxLength":4}`,
		[]string{`"ab"`, `"abcd"`, `"\n\u00e9"`, `"été"`}, []string{`"a"`, `"abcde"`, `""`}},
	{"string escapes", `{"type":"string"}`,
		[]string{`"a\"b"`, `"tab\there"`, `"\u263a"`, `"back\\slash"`, `"ünïcödé ☺"`, `""`},
		[]string{"\"raw\nnewline\"", `"bad \x escape"`, `"unterminated`, `"a"b"`}},
	{"format date", `{"type":"string","format":"date"}`,
		[]string{`"2024-02-29"`, `"1999-12-31"`}, []string{`"2024-13-01"`, `"2024-1-01"`, `"24-01-01"`, `"2024-01-32"`}},
	{"format time", `{"type":"string","format":"time"}`,
		[]string{`"23:59:59Z"`, `"08:00:00.123+02:00"`}, []string{`"24:00:00Z"`, `"08:00:00"`, `"8:00:00Z"`}},
	{"format date-time", `{"type":"string","format":"date-time"}`,
		[]string{`"2024-05-01T12:30:00Z"`, `"2024-05-01T12:30:00.5-07:00"`}, []string{`"2024-05-01 12:30:00Z"`, `"2024-05-01"`}},
	{"format uuid", `{"type":"string","format":"uuid"}`,
		[]string{`"123e4567-e89b-12d3-a456-426614174000"`}, []string{`"123e4567e89b12d3a456426614174000"`, `"123e4567-e89b-12d3-a456-42661417400g"`}},
	{"integer", `{"type":"integer"}`, []string{`0`, `-7`, `1234567890`}, []string{`1.5`, `01`, `+1`, `1e3`, `"1"`}},
	{"integer range", `{"type":"integer","minimum":-15,"maximum":1234}`,
		[]string{`-15`, `-9`, `0`, `9`, `10`, `99`, `100`, `999`, `1000`, `1199`, `1234`},
		[]string{`-16`, `-150`, `1235`, `1300`, `2000`, `12345`}},
	{"integer exclusive bounds", `{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}`,
		[]string{`1`, `9`}, []string{`0`, `10`, `-1`}},
	{"integer minimum only", `{"type":"integer","minimum":18}`,
		[]string{`18`, `19`, `99`, `100`, `123456`}, []string{`17`, `9`, `0`, `-18`}},
	{"integer maximum only", `{"type":"integer","maximum":-3}`,
		[]string{`-3`, `-4`, `-10`, `-99999`}, []string{`-2`, `0`, `3`}},
	{"number", `{"type":"number"}`, []string{`0`, `-1.5`, `2e10`, `3.25E-3`}, []string{`.5`, `1.`, `--1`, `1e`, `NaN`}},
	{"number minimum 0", `{"type":"number","minimum":0}`, []string{`0`, `2.5`, `1e-3`}, []string{`-1`, `-0.5`}},
	{"boolean", `{"type":"boolean"}`, []string{`true`, `false`}, []string{`True`, `1`}},
	{"null", `{"type":"null"}`, []string{`null`}, []string{`"null"`, `0`}},
	{"type array", `{"type":["string","null"]}`, []string{`"x"`, `null`}, []string{`1`, `{}`}},
	{"anyOf", `{"anyOf":[{"type":"integer"},{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}]}`,
		[]string{`5`, `{"a":"x"}`}, []string{`"5"`, `{}`}},
	{"oneOf", `{"oneOf":[{"type":"boolean"},{"type":"string","maxLength":1}]}`,
		[]string{`true`, `"x"`}, []string{`"xy"`, `null`}},
	{"anyOf with sibling properties", `{"type":"object","properties":{"kind":{"type":"string"}},"required":["kind"],
		"anyOf":[{"properties":{"n":{"type":"integer"}},"required":["n"]},{"properties":{"s":{"type":"string"}},"required":["s"]}]}`,
		[]string{`{"kind":"a","n":1}`, `{"kind":"b","s":"x"}`}, []string{`{"kind":"a"}`, `{"n":1}`, `{"kind":"a","n":"x"}`}},
	{"allOf of objects is merged", `{"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
		{"properties":{"b":{"type":"string"}},"required":["b"]}]}`,
		[]string{`{"a":1,"b":"x"}`}, []string{`{"a":1}`, `{"b":"x"}`, `{"b":"x","a":1}`}},
	{"allOf through refs", `{"$defs":{"base":{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}},
		"allOf":[{"$ref":"#/$defs/base"},{"properties":{"name":{"type":"string"}}}]}`,
		[]string{`{"id":1}`, `{"id":1,"name":"x"}`}, []string{`{"name":"x"}`}},
	{"ref to $defs", `{"type":"object","properties":{"p":{"$ref":"#/$defs/point"}},"required":["p"],
		"$defs":{"point":{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2}}}`,
		[]string{`{"p":[1,2]}`}, []string{`{"p":[1]}`, `{"p":{}}`}},
	{"ref to definitions", `{"definitions":{"flag":{"type":"boolean"}},"type":"array","items":{"$ref":"#/definitions/flag"}}`,
		[]string{`[true,false]`}, []string{`[1]`}},
	{"recursive ref", `{"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},
		"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value","children"]}},"$ref":"#/$defs/node"}`,
		[]string{`{"value":1,"children":[]}`, `{"value":1,"children":[{"value":2,"children":[{"value":3,"children":[]}]}]}`},
		[]string{`{"value":1}`, `{"value":1,"children":[{"value":2}]}`}},
	{"recursive ref to the root", `{"type":"object","properties":{"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["next"]}`,
		[]string{`{"next":null}`, `{"next":{"next":null}}`}, []string{`{"next":{}}`}},
	{"pattern anchored", `{"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"}`,
		[]string{`"AB-123"`}, []string{`"ab-123"`, `"AB-1234"`, `"xAB-123"`}},
	{"pattern unanchored", `{"type":"string","pattern":"ab+c"}`,
		[]string{`"abc"`, `"xxabbbcyy"`}, []string{`"ac"`, `"abx"`}},
	{"pattern alternation and groups", `{"type":"string","pattern":"^(?:cat|dog)s?( [0-9]+)?$"}`,
		[]string{`"cat"`, `"dogs"`, `"cats 12"`}, []string{`"cow"`, `"cat 1a"`, `"catss"`}},
	{"pattern with characters JSON escapes", `{"type":"string","pattern":"^\"[^\"]*\"\\\\$"}`,
		[]string{`"\"quoted\"\\"`}, []string{`"\"quo\"ted\"\\"`, `"quoted"`}},
	{"pattern dot and classes", `{"type":"string","pattern":"^.\\s\\w[^a-c]$"}`,
		[]string{`"é x_"`, `"1\td9"`}, []string{`"\n xd"`, `"a  b"`, `"a xa"`}},
	{"json_object default", `{"type":"object"}`, []string{`{}`, `{"a":[1]}`}, []string{`[]`, `1`}},
}

func TestSchemaGrammarsTakeValidAndRefuseInvalidDocuments(t *testing.T) {
	for _, tc := range schemaCases {
		t.Run(tc.name, func(t *testing.T) {
			gbnf := convert(t, tc.schema)
			checkDocuments(t, parse(t, gbnf), gbnf, tc.valid, tc.invalid)
		})
	}
}

func TestJSONObjectGrammar(t *testing.T) {
	gbnf := JSONObject()
	checkDocuments(t, parse(t, gbnf), gbnf, []string{`{}`, `{"a":{"b":[1,null]}}`}, []string{`[]`, `"x"`, `{"a"}`})
}
