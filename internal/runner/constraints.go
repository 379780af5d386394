package runner

import (
	"bytes"
	"encoding/json"
	"strings"

	"custos/internal/grammar"
	"custos/internal/llama"
)

// constraintFields are the request fields that constrain the generated text to a language, with
// llama-server's and OpenAI's names: llama-server's "grammar" (GBNF) and "json_schema", and OpenAI's
// "response_format". At most one of them may constrain a request (response_format json_object without a
// schema beside json_schema is one constraint: the schema's); each endpoint takes all three.
type constraintFields struct {
	Grammar        grammarText     `json:"grammar"`
	JSONSchema     schemaText      `json:"json_schema"`
	ResponseFormat *responseFormat `json:"response_format"`
	// textFormat is the Responses API's text.format when it asks for JSON (see responses_format.go).
	textFormat *jsonOutput
}

// jsonOutput is an output format that asks for JSON: the schema (nil: any object) and the field it came from.
type jsonOutput struct {
	field  string
	schema schemaText
}

// grammarText is GBNF text; "" (or null) means no grammar, as in llama-server.
type grammarText string

func (g *grammarText) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*g = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &fieldError{"grammar", "expected a string of GBNF rules"}
	}
	*g = grammarText(s)
	return nil
}

// schemaText is a JSON Schema kept as its JSON text, for the converter to read in document order; nil
// means no schema.
type schemaText json.RawMessage

func (s *schemaText) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*s = nil
		return nil
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || (t[0] != '{' && t[0] != 't' && t[0] != 'f') {
		return &fieldError{"json_schema", "expected a JSON Schema (an object)"}
	}
	*s = append(schemaText(nil), b...)
	return nil
}

// responseFormat is OpenAI's response_format: {"type":"text"}, {"type":"json_object"} (llama-server also
// takes a "schema" there) or {"type":"json_schema","json_schema":{"name","schema","strict"}}.
type responseFormat struct {
	Type       string     `json:"type"`
	Schema     schemaText `json:"schema"`
	JSONSchema *struct {
		Name   string     `json:"name"`
		Schema schemaText `json:"schema"`
		Strict *bool      `json:"strict"`
	} `json:"json_schema"`
}

func (f *responseFormat) UnmarshalJSON(b []byte) error {
	type plain responseFormat
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return &fieldError{"response_format", `expected {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {"schema": {...}}}`}
	}
	*f = responseFormat(p)
	return nil
}

// anyObjectSchema is what an absent or empty schema means, as in llama-server: any JSON object.
const anyObjectSchema = `{"type":"object"}`

// constraint is the grammar a request asks for, as GBNF text, and the field it came from; "" for none.
func (f constraintFields) constraint() (gbnf, field string, err *apiError) {
	type source struct{ field, gbnf string }
	var sources []source
	if f.Grammar != "" {
		sources = append(sources, source{"grammar", string(f.Grammar)})
	}
	if f.JSONSchema != nil {
		g, err := schemaGrammar("json_schema", f.JSONSchema)
		if err != nil {
			return "", "", err
		}
		sources = append(sources, source{"json_schema", g})
	}
	if rf := f.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			if rf.Schema == nil && f.JSONSchema != nil {
				break // "json_schema" says which JSON, as llama-server reads the pair
			}
			g, err := schemaGrammar("response_format.schema", rf.Schema)
			if err != nil {
				return "", "", err
			}
			sources = append(sources, source{"response_format", g})
		case "json_schema":
			var schema schemaText
			if rf.JSONSchema != nil {
				schema = rf.JSONSchema.Schema
			}
			// "strict" false or true, the output is constrained to the schema either way.
			g, err := schemaGrammar("response_format.json_schema.schema", schema)
			if err != nil {
				return "", "", err
			}
			sources = append(sources, source{"response_format", g})
		default:
			return "", "", badRequest(`"response_format.type" must be "text", "json_object" or "json_schema", got %q`, rf.Type)
		}
	}
	if tf := f.textFormat; tf != nil {
		g, err := schemaGrammar(tf.field, tf.schema)
		if err != nil {
			return "", "", err
		}
		sources = append(sources, source{"text.format", g})
	}
	switch len(sources) {
	case 0:
		return "", "", nil
	case 1:
		return sources[0].gbnf, sources[0].field, nil
	}
	return "", "", badRequest("%q and %q both constrain the output; send only one of them", sources[0].field, sources[1].field)
}

// schemaGrammar converts the schema of field; absent or {} means any JSON object.
func schemaGrammar(field string, schema schemaText) (string, *apiError) {
	text := []byte(schema)
	if len(text) == 0 || isEmptyObject(text) {
		text = []byte(anyObjectSchema)
	}
	g, err := grammar.FromJSONSchema(text)
	if err != nil {
		return "", badRequest("%q: %v", field, err)
	}
	return g, nil
}

// constrain parses the grammar the request asks for, if any, into the sampler's parameters. A grammar
// llama.cpp cannot parse is the client's error, named by its field.
func (e *engine) constrain(p *genParams, f constraintFields) *apiError {
	gbnf, field, apiErr := f.constraint()
	if apiErr != nil || gbnf == "" {
		return apiErr
	}
	g, err := llama.ParseGrammar(e.model, gbnf)
	if err != nil {
		return badRequest("%q: %v", field, describeGrammarError(err))
	}
	p.sampler.Grammar, p.grammar, p.grammarField = g, gbnf, field
	return nil
}

// describeGrammarError says what was wrong with a grammar, and where llama.cpp's detail went.
func describeGrammarError(err error) string {
	reason := strings.TrimPrefix(err.Error(), "llama: grammar: ")
	if strings.Contains(reason, "failed to parse grammar") {
		reason += " (llama.cpp prints the position of the syntax error on the runner's standard error)"
	}
	return "invalid grammar: " + reason
}
