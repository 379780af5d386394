package grammar

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// FromJSONSchema converts a JSON Schema into a GBNF grammar whose root rule generates JSON text valid
// against it. A keyword it cannot honour is a *SchemaError naming it and where it is.
func FromJSONSchema(schema []byte) (string, error) {
	doc, err := decode(schema)
	if err != nil {
		return "", fmt.Errorf("the schema is not valid JSON: %v", err)
	}
	c := &converter{doc: doc, r: newRules(), refs: map[string]string{}}
	c.r.reserve("root")
	body, err := c.body(doc, "#", "root")
	if err != nil {
		return "", err
	}
	c.r.define("root", body)
	return c.r.text(), nil
}

// converter walks one schema document.
type converter struct {
	doc  any
	r    *rules
	refs map[string]string // "$ref" value → the rule of its target
}

// Keywords that only describe, and keywords that would constrain in ways a grammar here cannot.
var (
	annotations = []string{"$schema", "$id", "$comment", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary",
		"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
		"contentMediaType", "contentEncoding", "contentSchema", "nullable"}
	unsupported = []string{"not", "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies",
		"patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains", "minContains",
		"maxContains", "uniqueItems", "multipleOf", "minProperties", "maxProperties", "$dynamicRef", "$recursiveRef"}
	// constraints are the keywords that restrict the value; a schema with none of them allows any value.
	constraints = []string{"type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "properties", "required",
		"additionalProperties", "items", "prefixItems", "additionalItems", "minItems", "maxItems", "minLength",
		"maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
)

// rule is the schema as one GBNF symbol: a rule of its own unless its expression already is one symbol.
func (c *converter) rule(schema any, ptr, hint string) (string, error) {
	body, err := c.body(schema, ptr, hint)
	if err != nil {
		return "", err
	}
	if isSymbol(body) {
		return body, nil
	}
	return c.r.add(hint, body), nil
}

// isSymbol reports whether expr is a single rule name or literal.
func isSymbol(expr string) bool {
	if strings.HasPrefix(expr, `"`) {
		return skipQuoted(expr, 0) == len(expr)-1
	}
	return ruleName(expr) == expr
}

// body is the GBNF expression of the JSON text schema accepts.
func (c *converter) body(schema any, ptr, hint string) (string, error) {
	switch s := schema.(type) {
	case bool:
		if !s {
			return "", schemaError(ptr, "", "the schema false allows no value")
		}
		return c.r.value(), nil
	case *object:
		return c.objectSchema(s, ptr, hint)
	}
	return "", schemaError(ptr, "", "a schema must be an object or a boolean, not %s", jsonType(schema))
}

func (c *converter) objectSchema(s *object, ptr, hint string) (string, error) {
	for _, k := range unsupported {
		if s.has(k) {
			return "", schemaError(ptr, k, "not supported")
		}
	}
	if ref, ok := s.get("$ref"); ok {
		if others := constrainingKeys(s, "$ref"); len(others) > 0 {
			return "", schemaError(ptr, others[0], "keywords beside \"$ref\" are not supported")
		}
		target, isString := ref.(string)
		if !isString {
			return "", schemaError(ptr, "$ref", "expected a string")
		}
		return c.ref(target, ptr)
	}
	if s.has("allOf") {
		merged, err := c.mergeAllOf(s, ptr)
		if err != nil {
			return "", err
		}
		return c.body(merged, ptr, hint)
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if s.has(k) {
			return c.alternatives(s, k, ptr, hint)
		}
	}
	if v, ok := s.get("const"); ok {
		return literalJSON(v), nil
	}
	if v, ok := s.get("enum"); ok {
		return c.enum(s, v, ptr)
	}
	types, err := schemaTypes(s, ptr)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, t := range types {
		p, err := c.typed(s, t, ptr, hint)
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	return alt(parts...), nil
}

// constrainingKeys are s's keywords other than annotations and except.
func constrainingKeys(s *object, except ...string) []string {
	var out []string
	for _, k := range s.keys {
		if !slices.Contains(annotations, k) && !slices.Contains(except, k) {
			out = append(out, k)
		}
	}
	return out
}

// schemaTypes is the list of types s allows: its "type", else what its keywords imply, else any.
func schemaTypes(s *object, ptr string) ([]string, error) {
	known := []string{"object", "array", "string", "integer", "number", "boolean", "null"}
	if t, ok := s.get("type"); ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, e := range t {
				name, ok := e.(string)
				if !ok {
					return nil, schemaError(child(ptr, "type"), "type", "expected type names")
				}
				types = append(types, name)
			}
		default:
			return nil, schemaError(ptr, "type", "expected a type name or an array of them")
		}
		if len(types) == 0 {
			return nil, schemaError(ptr, "type", "an empty list of types allows no value")
		}
		for _, name := range types {
			if !slices.Contains(known, name) {
				return nil, schemaError(ptr, "type", "unknown type %q", name)
			}
		}
		if slices.Contains(types, "number") {
			types = slices.DeleteFunc(types, func(t string) bool { return t == "integer" })
		}
		return types, nil
	}
	switch {
	case s.has("properties") || s.has("additionalProperties") || s.has("required"):
		return []string{"object"}, nil
	case s.has("items") || s.has("prefixItems") || s.has("minItems") || s.has("maxItems"):
		return []string{"array"}, nil
	case s.has("minLength") || s.has("maxLength") || s.has("pattern") || s.has("format"):
		return []string{"string"}, nil
	case s.has("minimum") || s.has("maximum") || s.has("exclusiveMinimum") || s.has("exclusiveMaximum"):
		return []string{"number"}, nil
	}
	return []string{"any"}, nil
}

func (c *converter) typed(s *object, t, ptr, hint string) (string, error) {
	switch t {
	case "object":
		return c.object(s, ptr, hint)
	case "array":
		return c.array(s, ptr, hint)
	case "string":
		return c.stringSchema(s, ptr)
	case "integer":
		return c.integer(s, ptr)
	case "number":
		return c.number(s, ptr)
	case "boolean":
		return c.r.boolean(), nil
	case "null":
		return c.r.null(), nil
	}
	return c.r.value(), nil
}

// literalJSON is the expression of exactly the JSON text of v.
func literalJSON(v any) string {
	var b strings.Builder
	encodeJSON(&b, v)
	return literal(b.String())
}

// enum is one of the values, those of them that the schema's "type" allows.
func (c *converter) enum(s *object, v any, ptr string) (string, error) {
	values, ok := v.([]any)
	if !ok {
		return "", schemaError(ptr, "enum", "expected an array")
	}
	var types []string
	if s.has("type") {
		var err error
		if types, err = schemaTypes(s, ptr); err != nil {
			return "", err
		}
	}
	var parts []string
	for _, e := range values {
		t := jsonType(e)
		if types == nil || slices.Contains(types, t) || (t == "integer" && slices.Contains(types, "number")) {
			parts = append(parts, literalJSON(e))
		}
	}
	if len(parts) == 0 {
		return "", schemaError(ptr, "enum", "no value of the enum is of the schema's type")
	}
	return alt(parts...), nil
}

// alternatives is anyOf or oneOf: any of the branches, each merged with the keywords beside it.
func (c *converter) alternatives(s *object, keyword, ptr, hint string) (string, error) {
	branches, ok := s.values[keyword].([]any)
	if !ok || len(branches) == 0 {
		return "", schemaError(ptr, keyword, "expected a non-empty array of schemas")
	}
	if s.has("anyOf") && s.has("oneOf") {
		return "", schemaError(ptr, "oneOf", "\"anyOf\" and \"oneOf\" in one schema are not supported")
	}
	siblings := s.clone()
	delete(siblings.values, keyword)
	siblings.keys = slices.DeleteFunc(siblings.keys, func(k string) bool { return k == keyword })
	merge := len(constrainingKeys(siblings)) > 0
	var parts []string
	for i, b := range branches {
		bptr := child(ptr, keyword, i)
		if merge {
			resolved, err := c.deref(b, bptr)
			if err != nil {
				return "", err
			}
			bs, ok := resolved.(*object)
			if !ok {
				return "", schemaError(bptr, keyword, "a branch beside other keywords must be a schema object")
			}
			if b, err = mergeSchemas(siblings, bs, bptr); err != nil {
				return "", err
			}
		}
		p, err := c.rule(b, bptr, fmt.Sprintf("%s-%d", hint, i))
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	return alt(parts...), nil
}

// number reads a numeric keyword.
func numberKeyword(s *object, key, ptr string) (float64, bool, error) {
	v, ok := s.get(key)
	if !ok {
		return 0, false, nil
	}
	n, isNumber := v.(json.Number)
	if !isNumber {
		return 0, false, schemaError(ptr, key, "expected a number")
	}
	f, err := n.Float64()
	if err != nil {
		return 0, false, schemaError(ptr, key, "%v", err)
	}
	return f, true, nil
}

// count reads a non-negative integer keyword (minLength, maxItems, ...); -1 when absent.
func countKeyword(s *object, key, ptr string) (int, error) {
	f, ok, err := numberKeyword(s, key, ptr)
	if err != nil || !ok {
		return -1, err
	}
	if f < 0 || f != float64(int(f)) {
		return -1, schemaError(ptr, key, "expected a non-negative integer")
	}
	return int(f), nil
}
