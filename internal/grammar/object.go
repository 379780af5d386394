package grammar

import (
	"slices"
	"strconv"
	"strings"
)

// object is a JSON object with the schema's properties, in the schema's order.
func (c *converter) object(s *object, ptr, hint string) (string, error) {
	props, err := objectKeyword(s, "properties", ptr)
	if err != nil {
		return "", err
	}
	required, err := stringList(s, "required", ptr)
	if err != nil {
		return "", err
	}
	extra, hasExtra := s.get("additionalProperties")
	if b, isBool := extra.(bool); isBool {
		hasExtra = b
	}
	if props == nil && len(required) == 0 && (!s.has("additionalProperties") || extra == true) {
		return c.r.anyObject(), nil
	}
	if props == nil {
		props = newObject()
	}
	for _, name := range required {
		if props.has(name) {
			continue
		}
		if s.has("additionalProperties") && extra == false {
			return "", schemaError(ptr, "required", "%q is required but \"additionalProperties\" is false and it is not among \"properties\"", name)
		}
		if hasExtra {
			props.set(name, extra)
		} else {
			props.set(name, true)
		}
	}

	sep := c.r.sep()
	type item struct {
		kv       string
		required bool
	}
	var items []item
	for _, name := range props.keys {
		if props.values[name] == false && !slices.Contains(required, name) {
			continue // a property that can have no value is one to leave out
		}
		pptr := child(ptr, "properties", name)
		value, err := c.rule(props.values[name], pptr, hint+"-"+name)
		if err != nil {
			return "", err
		}
		var key strings.Builder
		encodeJSON(&key, name)
		kv := c.r.add(hint+"-"+name+"-kv", seq(literal(key.String()), c.r.ws(), `":"`, "ws", value))
		items = append(items, item{kv: kv, required: slices.Contains(required, name)})
	}
	// Required properties first, as llama-server writes them, so that the same seed gives the same text.
	slices.SortStableFunc(items, func(a, b item) int {
		switch {
		case a.required == b.required:
			return 0
		case a.required:
			return -1
		}
		return 1
	})
	var extraKV string
	if hasExtra {
		value := c.r.value()
		if _, isBool := extra.(bool); !isBool {
			if value, err = c.rule(extra, child(ptr, "additionalProperties"), hint+"-additional"); err != nil {
				return "", err
			}
		}
		key := c.r.add(hint+"-additional-key", seq(`"\""`, c.notKeys(props.keys, hint+"-additional-key"), `"\""`))
		extraKV = c.r.add(hint+"-additional-kv", seq(key, `":"`, "ws", value))
	}

	// after[i] is what may follow once something has been written, from item i on; start is what may
	// come first: one of the items up to the first required one, or nothing if none is required.
	after := make([]string, len(items)+1)
	if extraKV != "" {
		after[len(items)] = "(" + sep + " " + extraKV + ")*"
	}
	for i := len(items) - 1; i >= 0; i-- {
		next := sep + " " + items[i].kv
		if !items[i].required {
			next = "(" + next + ")?"
		}
		after[i] = seq(next, after[i+1])
	}
	var starts []string
	allOptional := true
	for i, it := range items {
		starts = append(starts, seq(it.kv, after[i+1]))
		if it.required {
			allOptional = false
			break
		}
	}
	if allOptional && extraKV != "" {
		starts = append(starts, seq(extraKV, after[len(items)]))
	}
	content := alt(starts...)
	if allOptional && content != "" {
		content = "(" + content + ")?"
	} else if len(starts) > 1 {
		content = "(" + content + ")"
	}
	if content == "" {
		// No property may appear: one run of whitespace inside the braces, as llama-server writes it.
		return seq(`"{"`, "ws", `"}"`), nil
	}
	return seq(`"{"`, "ws", content, "ws", `"}"`), nil
}

// notKeys is the content of a JSON string other than the given keys, so that an additional property
// never repeats a declared one. It follows the keys' common prefixes: a string leaves the set as soon
// as it differs from every key, or ends where no key ends.
// Each node of the keys' trie is a rule of its own, so that a long key makes a chain of rules rather than
// deeply nested groups.
func (c *converter) notKeys(keys []string, hint string) string {
	type node struct {
		children map[rune]*node
		order    []rune
		terminal bool
	}
	root := &node{children: map[rune]*node{}}
	for _, k := range keys {
		n := root
		for _, r := range k {
			nx, ok := n.children[r]
			if !ok {
				nx = &node{children: map[rune]*node{}}
				n.children[r] = nx
				n.order = append(n.order, r)
			}
			n = nx
		}
		n.terminal = true
	}
	chars := c.r.char()
	var walk func(n *node) string
	walk = func(n *node) string {
		var parts []string
		if !n.terminal {
			parts = append(parts, `""`)
		}
		var firsts []runeRange
		for _, r := range n.order {
			firsts = append(firsts, runeRange{r, r})
			parts = append(parts, seq(literal(jsonEscape(r)), walk(n.children[r])))
		}
		// A first character other than every child's, then anything.
		other := jsonChars(setOf(firsts...).negate())
		parts = append(parts, seq(group(other), chars+"*"))
		return c.r.add(hint, alt(parts...))
	}
	return walk(root)
}

// array is a JSON array: the "prefixItems" in order, then "items" as many times as minItems and maxItems
// allow.
func (c *converter) array(s *object, ptr, hint string) (string, error) {
	minItems, err := countKeyword(s, "minItems", ptr)
	if err != nil {
		return "", err
	}
	maxItems, err := countKeyword(s, "maxItems", ptr)
	if err != nil {
		return "", err
	}
	if maxItems >= 0 && minItems > maxItems {
		return "", schemaError(ptr, "maxItems", "%d is below minItems %d", maxItems, minItems)
	}
	minItems = max(minItems, 0)
	var prefix []any
	prefixKey := "prefixItems"
	extra, hasExtra := s.get("items")
	extraKey := "items"
	if p, ok := s.get("prefixItems"); ok {
		if prefix, ok = p.([]any); !ok {
			return "", schemaError(ptr, "prefixItems", "expected an array of schemas")
		}
	} else if tuple, ok := extra.([]any); ok {
		// The draft-04 form of a tuple: "items" as an array, then "additionalItems".
		prefix, prefixKey = tuple, "items"
		extra, hasExtra = s.get("additionalItems")
		extraKey = "additionalItems"
	}
	if prefix != nil && !hasExtra {
		// Only the tuple unless minItems asks for more: the schema allows more, a generator need not.
		extra, hasExtra = true, minItems > len(prefix)
	}
	if !s.has("items") && prefix == nil {
		extra, hasExtra = true, true
	}
	if b, isBool := extra.(bool); isBool && !b {
		hasExtra = false
	}
	if maxItems >= 0 && maxItems < len(prefix) {
		return "", schemaError(ptr, "maxItems", "%d is fewer than the %d \"%s\"", maxItems, len(prefix), prefixKey)
	}
	if !hasExtra && minItems > len(prefix) {
		return "", schemaError(ptr, "minItems", "%d items are required but %q allows no more than %d", minItems, extraKey, len(prefix))
	}
	sep := c.r.sep()
	var parts []string
	for i, p := range prefix {
		r, err := c.rule(p, child(ptr, prefixKey, i), hint+"-"+strconv.Itoa(i))
		if err != nil {
			return "", err
		}
		if i > 0 {
			parts = append(parts, sep)
		}
		parts = append(parts, r)
	}
	content := seq(parts...)
	if hasExtra {
		item, err := c.rule(extra, child(ptr, extraKey), hint+"-item")
		if err != nil {
			return "", err
		}
		lo := max(minItems-len(prefix), 0)
		hi := -1
		if maxItems >= 0 {
			hi = maxItems - len(prefix)
		}
		if lo > repetitionLimit {
			return "", schemaError(ptr, "minItems", "more than %d items is more than a grammar can require", repetitionLimit)
		}
		if hi > repetitionLimit {
			hi = -1
		}
		switch {
		case hi == 0:
		case len(prefix) > 0:
			content = seq(content, repeat(sep+" "+item, lo, hi))
		case lo == 0:
			content = "(" + seq(item, repeat(sep+" "+item, 0, decrement(hi))) + ")?"
		default:
			content = seq(item, repeat(sep+" "+item, lo-1, decrement(hi)))
		}
	}
	return seq(`"["`, c.r.ws(), content, "ws", `"]"`), nil
}

// decrement is n - 1 for a bound, keeping -1 (no bound) as it is.
func decrement(n int) int {
	if n < 0 {
		return n
	}
	return n - 1
}
