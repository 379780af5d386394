package toolcall

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// valueType is a JSON type a parameter's schema allows, a bit of a set of them.
type valueType uint8

const (
	typeString valueType = 1 << iota
	typeNumber
	typeInteger
	typeBoolean
	typeNull
	typeArray
	typeObject

	allTypes = typeString | typeNumber | typeInteger | typeBoolean | typeNull | typeArray | typeObject
)

// xmlParam is a parameter of a tool as the XML format writes it: by name, its value raw text when its schema
// allows strings only, JSON when it allows no string.
type xmlParam struct {
	name     string
	schema   json.RawMessage // with the tool schema's definitions, so that its references resolve
	required bool
	types    valueType
}

// stringOnly and noString say how the parameter's value is written.
func (p xmlParam) stringOnly() bool { return p.types == typeString }
func (p xmlParam) noString() bool   { return p.types&typeString == 0 }

// xmlParams are the parameters of a tool's schema, in the order the schema lists them, as llama-server
// walks them. A schema that is not an object of properties has none.
func xmlParams(params json.RawMessage) []xmlParam {
	var root map[string]json.RawMessage
	if json.Unmarshal(params, &root) != nil {
		return nil
	}
	var required []string
	_ = json.Unmarshal(root["required"], &required)
	names, schemas := orderedProperties(root["properties"])
	out := make([]xmlParam, len(names))
	for i, name := range names {
		var schema map[string]json.RawMessage
		_ = json.Unmarshal(schemas[i], &schema) // a schema that is not an object allows any value
		out[i] = xmlParam{
			name:     name,
			schema:   withDefinitions(schemas[i], root),
			required: slices.Contains(required, name),
			types:    schemaTypes(schema, root, map[string]bool{}),
		}
	}
	return out
}

// orderedProperties reads a "properties" object's keys in the order written, with their schemas.
func orderedProperties(props json.RawMessage) ([]string, []json.RawMessage) {
	dec := json.NewDecoder(bytes.NewReader(props))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil
	}
	var names []string
	var schemas []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil
		}
		name, _ := tok.(string)
		var schema json.RawMessage
		if dec.Decode(&schema) != nil {
			return nil, nil
		}
		names, schemas = append(names, name), append(schemas, schema)
	}
	return names, schemas
}

// withDefinitions is a property's schema carrying the tool schema's "$defs" and "definitions", so that a
// grammar made of the property alone resolves its "#/$defs/..." references as the whole schema would.
func withDefinitions(schema json.RawMessage, root map[string]json.RawMessage) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(schema, &obj) != nil {
		return schema
	}
	added := false
	for _, key := range []string{"$defs", "definitions"} {
		if defs, ok := root[key]; ok {
			if _, own := obj[key]; !own {
				obj[key], added = defs, true
			}
		}
	}
	if !added {
		return schema
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return schema
	}
	return b
}

// schemaTypes are the JSON types a schema allows, read as llama-server reads them: a reference is its
// target's (a cycle none), anyOf and oneOf the union of theirs, allOf the intersection; without "type"
// the structural keywords decide, and a schema that says nothing allows every type.
func schemaTypes(s map[string]json.RawMessage, root map[string]json.RawMessage, visiting map[string]bool) valueType {
	if ref, ok := stringField(s, "$ref"); ok {
		if visiting[ref] {
			return 0
		}
		target, found := resolveRef(root, ref)
		if !found {
			return 0
		}
		visiting[ref] = true
		defer delete(visiting, ref)
		return schemaTypes(target, root, visiting)
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		if alts, ok := s[key]; ok {
			var children []map[string]json.RawMessage
			_ = json.Unmarshal(alts, &children)
			var types valueType
			for _, c := range children {
				types |= schemaTypes(c, root, visiting)
			}
			return types
		}
	}
	var typeList []string
	if raw, ok := s["type"]; ok && json.Unmarshal(raw, &typeList) == nil {
		var types valueType
		for _, t := range typeList {
			types |= namedType(t)
		}
		return types
	}
	if c, ok := s["const"]; ok {
		return jsonType(c)
	}
	if raw, ok := s["enum"]; ok {
		var values []json.RawMessage
		_ = json.Unmarshal(raw, &values)
		var types valueType
		for _, v := range values {
			types |= jsonType(v)
		}
		return types
	}
	typeName, _ := stringField(s, "type")
	if (typeName == "" || typeName == "object" || typeName == "string") && s["allOf"] != nil && !hasProperties(s) {
		var children []map[string]json.RawMessage
		_ = json.Unmarshal(s["allOf"], &children)
		types := allTypes
		for _, c := range children {
			types &= schemaTypes(c, root, visiting)
		}
		return types
	}
	if typeName != "" {
		return namedType(typeName)
	}
	switch {
	case hasProperties(s):
		return typeObject
	case s["items"] != nil || s["prefixItems"] != nil:
		return typeArray
	case s["pattern"] != nil || s["minLength"] != nil || s["maxLength"] != nil || s["format"] != nil:
		return typeString
	}
	return allTypes
}

// hasProperties is llama-server's test for an object schema without "type".
func hasProperties(s map[string]json.RawMessage) bool {
	ap, ok := s["additionalProperties"]
	return s["properties"] != nil || (ok && string(bytes.TrimSpace(ap)) != "true")
}

// namedType is the type a "type" keyword names; "number" allows integers too.
func namedType(name string) valueType {
	switch name {
	case "string":
		return typeString
	case "number":
		return typeNumber | typeInteger
	case "integer":
		return typeInteger
	case "boolean":
		return typeBoolean
	case "null":
		return typeNull
	case "array":
		return typeArray
	case "object":
		return typeObject
	}
	return 0
}

// jsonType is the type of a JSON value.
func jsonType(v json.RawMessage) valueType {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0
	}
	switch v[0] {
	case '"':
		return typeString
	case '{':
		return typeObject
	case '[':
		return typeArray
	case 't', 'f':
		return typeBoolean
	case 'n':
		return typeNull
	}
	if bytes.ContainsAny(v, ".eE") {
		return typeNumber
	}
	return typeInteger
}

// resolveRef finds a local reference ("#/$defs/name", "#/definitions/name", "#") in root.
func resolveRef(root map[string]json.RawMessage, ref string) (map[string]json.RawMessage, bool) {
	if ref == "#" {
		return root, true
	}
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	node := root
	for _, part := range strings.Split(path, "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		var next map[string]json.RawMessage
		if json.Unmarshal(node[part], &next) != nil {
			return nil, false
		}
		node = next
	}
	return node, true
}

// stringField is s[key] when it is a JSON string.
func stringField(s map[string]json.RawMessage, key string) (string, bool) {
	var v string
	if raw, ok := s[key]; !ok || json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}
