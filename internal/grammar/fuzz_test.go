package grammar

import (
	"errors"
	"strings"
	"testing"

	"custos/internal/llama"
)

// FuzzFromJSONSchema checks that no schema makes the converter panic, that it refuses only with a
// SchemaError or a JSON error, and that llama.cpp parses every grammar it writes.
func FuzzFromJSONSchema(f *testing.F) {
	for _, tc := range schemaCases {
		f.Add(tc.schema)
	}
	f.Fuzz(func(t *testing.T, schema string) {
		gbnf, err := FromJSONSchema([]byte(schema))
		if err != nil {
			var se *SchemaError
			if !errors.As(err, &se) && !strings.HasPrefix(err.Error(), "the schema is not valid JSON") {
				t.Fatalf("FromJSONSchema(%q): unexpected error %v", schema, err)
			}
			return
		}
		if len(gbnf) > llama.MaxGrammarBytes {
			return
		}
		if _, err := llama.ParseGrammar(model(t), gbnf); err != nil && !strings.Contains(err.Error(), "nested more than") {
			t.Fatalf("schema %s: llama.cpp refuses the grammar: %v\n%s", schema, err, gbnf)
		}
	})
}

// FuzzPattern checks that no regular expression makes the pattern translation panic, and that llama.cpp
// parses every grammar it writes.
func FuzzPattern(f *testing.F) {
	for _, p := range []string{`^[A-Z]{2}-\d{3}$`, `ab+c`, `^(?:cat|dog)s?( [0-9]+)?$`, `^.\s\w[^a-c]$`,
		`[\^\]\[-]-[^\^]`, `a{2,}|b{,3}|c{1}`, `(((a)))|[\x41-\u0042]`, `\S\W\D.`} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		r := newRules()
		expr, err := r.patternString(pattern)
		if err != nil {
			return
		}
		r.define("root", expr)
		gbnf := r.text()
		if len(gbnf) > llama.MaxGrammarBytes {
			return
		}
		if _, err := llama.ParseGrammar(model(t), gbnf); err != nil && !strings.Contains(err.Error(), "nested more than") {
			t.Fatalf("pattern %q: llama.cpp refuses the grammar: %v\n%s", pattern, err, gbnf)
		}
	})
}
