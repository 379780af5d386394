package grammar

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxRefChain bounds how many "$ref"s in a row are followed to reach a schema, so that refs pointing at
// each other fail instead of looping.
const maxRefChain = 32

// ref is the rule of a local reference ("#", "#/$defs/name", any JSON pointer into the document). Each
// target becomes one rule, named before its body is written, so that recursive schemas refer to it.
func (c *converter) ref(target, ptr string) (string, error) {
	if name, ok := c.refs[target]; ok {
		return name, nil
	}
	schema, err := c.resolve(target, ptr)
	if err != nil {
		return "", err
	}
	hint := strings.TrimPrefix(target, "#/")
	if target == "#" {
		hint = "schema-root"
	}
	name := c.r.reserve(hint)
	c.refs[target] = name
	body, err := c.body(schema, target, name)
	if err != nil {
		return "", err
	}
	c.r.define(name, body)
	return name, nil
}

// resolve finds the schema a local "$ref" points to.
func (c *converter) resolve(target, ptr string) (any, error) {
	if !strings.HasPrefix(target, "#") {
		return nil, schemaError(ptr, "$ref", "%q: only references inside the schema (starting with #) are supported", target)
	}
	v := c.doc
	if target == "#" {
		return v, nil
	}
	if !strings.HasPrefix(target, "#/") {
		return nil, schemaError(ptr, "$ref", "%q: anchors are not supported, only JSON pointers", target)
	}
	for _, tok := range strings.Split(target[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch node := v.(type) {
		case *object:
			next, ok := node.get(tok)
			if !ok {
				return nil, schemaError(ptr, "$ref", "%q: the schema has no %q there", target, tok)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(node) {
				return nil, schemaError(ptr, "$ref", "%q: no element %q there", target, tok)
			}
			v = node[i]
		default:
			return nil, schemaError(ptr, "$ref", "%q does not point into the schema", target)
		}
	}
	return v, nil
}

// deref follows a schema that is only a "$ref" to the schema it names.
func (c *converter) deref(schema any, ptr string) (any, error) {
	for range maxRefChain {
		s, ok := schema.(*object)
		if !ok {
			return schema, nil
		}
		ref, ok := s.get("$ref")
		if !ok {
			return schema, nil
		}
		target, isString := ref.(string)
		if !isString {
			return nil, schemaError(ptr, "$ref", "expected a string")
		}
		next, err := c.resolve(target, ptr)
		if err != nil {
			return nil, err
		}
		schema, ptr = next, target
	}
	return nil, schemaError(ptr, "$ref", "more than %d references in a row", maxRefChain)
}

// mergeAllOf folds s's "allOf" members, and the keywords beside it, into one schema.
func (c *converter) mergeAllOf(s *object, ptr string) (*object, error) {
	members, ok := s.values["allOf"].([]any)
	if !ok || len(members) == 0 {
		return nil, schemaError(ptr, "allOf", "expected a non-empty array of schemas")
	}
	merged := s.clone()
	delete(merged.values, "allOf")
	merged.keys = slices.DeleteFunc(merged.keys, func(k string) bool { return k == "allOf" })
	for i, m := range members {
		mptr := child(ptr, "allOf", i)
		m, err := c.deref(m, mptr)
		if err != nil {
			return nil, err
		}
		ms, ok := m.(*object)
		if !ok {
			if m == true {
				continue
			}
			return nil, schemaError(mptr, "allOf", "a member must be a schema object")
		}
		if ms.has("allOf") {
			if ms, err = c.mergeAllOf(ms, mptr); err != nil {
				return nil, err
			}
		}
		if merged, err = mergeSchemas(merged, ms, mptr); err != nil {
			return nil, err
		}
	}
	return merged, nil
}

// mergeSchemas is one schema requiring what a and b both require, for the keywords where that is a
// simple combination: properties and required of objects, types, and numeric bounds.
func mergeSchemas(a, b *object, ptr string) (*object, error) {
	out := a.clone()
	for _, k := range b.keys {
		bv := b.values[k]
		av, both := out.get(k)
		if !both {
			out.set(k, bv)
			continue
		}
		if slices.Contains(annotations, k) || reflect.DeepEqual(av, bv) {
			continue
		}
		merged, err := mergeKeyword(k, av, bv, ptr)
		if err != nil {
			return nil, err
		}
		out.set(k, merged)
	}
	if err := checkClosedObjects(a, b, out, ptr); err != nil {
		return nil, err
	}
	return out, nil
}

func mergeKeyword(k string, av, bv any, ptr string) (any, error) {
	switch k {
	case "properties":
		ap, aok := av.(*object)
		bp, bok := bv.(*object)
		if !aok || !bok {
			return nil, schemaError(ptr, k, "expected an object")
		}
		props := ap.clone()
		for _, name := range bp.keys {
			if existing, ok := props.get(name); ok {
				both := newObject()
				both.set("allOf", []any{existing, bp.values[name]})
				props.set(name, both)
				continue
			}
			props.set(name, bp.values[name])
		}
		return props, nil
	case "required":
		al, aok := av.([]any)
		bl, bok := bv.([]any)
		if !aok || !bok {
			return nil, schemaError(ptr, k, "expected an array")
		}
		out := slices.Clone(al)
		for _, e := range bl {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
		return out, nil
	case "type":
		at, bt := typeSet(av), typeSet(bv)
		var common []any
		for _, t := range at {
			if slices.Contains(bt, t) || (t == "integer" && slices.Contains(bt, "number")) {
				common = append(common, t)
			} else if t == "number" && slices.Contains(bt, "integer") {
				common = append(common, "integer")
			}
		}
		if len(common) == 0 {
			return nil, schemaError(ptr, "allOf", "the members allow no common type")
		}
		return common, nil
	case "minimum", "exclusiveMinimum", "minLength", "minItems":
		return pickNumber(av, bv, k, ptr, func(x, y float64) bool { return x > y })
	case "maximum", "exclusiveMaximum", "maxLength", "maxItems":
		return pickNumber(av, bv, k, ptr, func(x, y float64) bool { return x < y })
	}
	return nil, schemaError(ptr, "allOf", "the members disagree on %q, which is not merged", k)
}

// checkClosedObjects refuses a merge where one member forbids additional properties that the merged
// schema writes: its properties would be invalid against that member.
func checkClosedObjects(a, b, merged *object, ptr string) error {
	props, _ := merged.values["properties"].(*object)
	if props == nil {
		return nil
	}
	for _, m := range []*object{a, b} {
		if m.values["additionalProperties"] != false {
			continue
		}
		own, _ := m.values["properties"].(*object)
		for _, name := range props.keys {
			if own == nil || !own.has(name) {
				return schemaError(ptr, "additionalProperties", "a member forbids additional properties, and another adds %q", name)
			}
		}
	}
	return nil
}

func typeSet(v any) []any {
	switch t := v.(type) {
	case string:
		return []any{t}
	case []any:
		return t
	}
	return nil
}

func pickNumber(av, bv any, k, ptr string, better func(x, y float64) bool) (any, error) {
	x, xok := toFloat(av)
	y, yok := toFloat(bv)
	if !xok || !yok {
		return nil, schemaError(ptr, k, "expected a number")
	}
	if better(x, y) {
		return av, nil
	}
	return bv, nil
}
