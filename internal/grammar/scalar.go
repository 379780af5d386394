package grammar

import (
	"encoding/json"
	"math"
	"strconv"
)

// stringSchema is a JSON string of the schema's format, pattern or length.
func (c *converter) stringSchema(s *object, ptr string) (string, error) {
	minLength, err := countKeyword(s, "minLength", ptr)
	if err != nil {
		return "", err
	}
	maxLength, err := countKeyword(s, "maxLength", ptr)
	if err != nil {
		return "", err
	}
	lengths := minLength >= 0 || maxLength >= 0
	format, hasFormat := s.get("format")
	pattern, hasPattern := s.get("pattern")
	switch {
	case hasFormat && hasPattern:
		return "", schemaError(ptr, "pattern", "a pattern together with a format is not supported")
	case (hasFormat || hasPattern) && lengths:
		keyword := "pattern"
		if hasFormat {
			keyword = "format"
		}
		return "", schemaError(ptr, "minLength", "length limits together with %q are not supported", keyword)
	case hasFormat:
		name, ok := format.(string)
		if !ok {
			return "", schemaError(ptr, "format", "expected a string")
		}
		rule, known := c.r.format(name)
		if !known {
			return "", schemaError(ptr, "format", "the format %q is not supported (date, time, date-time, uuid, email, hostname and ipv4 are)", name)
		}
		return rule, nil
	case hasPattern:
		text, ok := pattern.(string)
		if !ok {
			return "", schemaError(ptr, "pattern", "expected a string")
		}
		expr, err := c.r.patternString(text)
		if err != nil {
			return "", schemaError(ptr, "pattern", "%v", err)
		}
		return expr, nil
	case lengths:
		lo := max(minLength, 0)
		if maxLength >= 0 && maxLength < lo {
			return "", schemaError(ptr, "maxLength", "%d is below minLength %d", maxLength, lo)
		}
		if lo > repetitionLimit {
			return "", schemaError(ptr, "minLength", "%d is more than the %d characters a grammar can require", lo, repetitionLimit)
		}
		hi := maxLength
		if hi > repetitionLimit {
			hi = -1
		}
		return seq(`"\""`, repeat(c.r.char(), lo, hi), `"\""`), nil
	}
	return c.r.string(), nil
}

// integer is a JSON integer within the schema's bounds.
func (c *converter) integer(s *object, ptr string) (string, error) {
	lo, hi, err := integerBounds(s, ptr)
	if err != nil {
		return "", err
	}
	if lo == nil && hi == nil {
		return c.r.integer(), nil
	}
	expr := integerRange(lo, hi)
	if expr == "" {
		return "", schemaError(ptr, "minimum", "no integer lies between the bounds")
	}
	return expr, nil
}

// integerBounds reads the bounds as the smallest and largest integers allowed; nil for a side without one.
func integerBounds(s *object, ptr string) (lo, hi *int64, err error) {
	l, hasLo, err := numberBound(s, "minimum", "exclusiveMinimum", ptr, true)
	if err != nil {
		return nil, nil, err
	}
	h, hasHi, err := numberBound(s, "maximum", "exclusiveMaximum", ptr, false)
	if err != nil {
		return nil, nil, err
	}
	if hasLo {
		n := int64(math.Ceil(l.value))
		if l.exclusive && float64(n) == l.value {
			n++
		}
		lo = &n
	}
	if hasHi {
		n := int64(math.Floor(h.value))
		if h.exclusive && float64(n) == h.value {
			n--
		}
		hi = &n
	}
	return lo, hi, nil
}

// number is a JSON number within the schema's bounds. A bounded number is written without an exponent:
// an integer within the bounds, or an integer part and a fraction where any fraction keeps the value
// within them (with integer part 3, a value in [3, 4); with -3, one in (-4, -3]).
func (c *converter) number(s *object, ptr string) (string, error) {
	lo, hasLo, err := numberBound(s, "minimum", "exclusiveMinimum", ptr, true)
	if err != nil {
		return "", err
	}
	hi, hasHi, err := numberBound(s, "maximum", "exclusiveMaximum", ptr, false)
	if err != nil {
		return "", err
	}
	if !hasLo && !hasHi {
		return c.r.number(), nil
	}
	// Integer parts p >= 0 take any fraction when p >= lo and p+1 <= hi; magnitudes m > 0 of negative
	// ones when -m <= hi and -(m+1) >= lo. At an exclusive bound equal to an integer, that integer part
	// takes only fractions that are not all zeros.
	var wholeLo, wholeHi, partHi, magHi *int64
	partLo, magLo := int64(0), int64(1)
	partEdge, magEdge := false, false
	if hasLo {
		n := int64(math.Ceil(lo.value))
		partLo = max(n, 0)
		partEdge = lo.exclusive && float64(n) == lo.value && n >= 0
		if lo.exclusive && float64(n) == lo.value {
			n++
		}
		wholeLo = &n
		m := int64(math.Floor(-lo.value)) - 1
		magHi = &m
	}
	if hasHi {
		n := int64(math.Floor(hi.value))
		if hi.exclusive && float64(n) == hi.value {
			n--
		}
		p := int64(math.Floor(hi.value)) - 1
		wholeHi, partHi = &n, &p
		m := int64(math.Ceil(-hi.value))
		magLo = max(m, 1)
		magEdge = hi.exclusive && float64(m) == -hi.value && m >= 1
	}
	const fraction, nonZeroFraction = `"." [0-9]{1,16}`, `"." [0-9]{0,15} [1-9]`
	var parts []string
	if w := integerRange(wholeLo, wholeHi); w != "" {
		parts = append(parts, w)
	}
	// withFraction adds the integer parts in [from, to] (to nil: unbounded) followed by a fraction, the
	// first of them only with a non-zero one when edge.
	withFraction := func(sign string, from int64, to *int64, edge bool) {
		if to != nil && from > *to {
			return
		}
		if edge {
			parts = append(parts, seq(sign, literal(strconv.FormatInt(from, 10)), nonZeroFraction))
			from++
		}
		if r := integerRange(&from, to); r != "" {
			parts = append(parts, seq(sign, group(r), fraction))
		}
	}
	withFraction("", partLo, partHi, partEdge)
	withFraction(`"-"`, magLo, magHi, magEdge)
	if len(parts) == 0 {
		return "", schemaError(ptr, "maximum", "no number the grammar can write lies within the bounds")
	}
	return alt(parts...), nil
}

// bound is a lower or upper bound of a number.
type bound struct {
	value     float64
	exclusive bool
}

// numberBound reads the tighter of a bound keyword and its exclusive form (a number since draft 6, a
// boolean beside the bound in draft 4).
func numberBound(s *object, key, exclusiveKey, ptr string, lower bool) (bound, bool, error) {
	var best bound
	found := false
	consider := func(b bound) error {
		if math.Abs(b.value) > 1e15 {
			return schemaError(ptr, key, "%g is too large a bound (at most 10^15)", b.value)
		}
		tighter := b.value > best.value
		if !lower {
			tighter = b.value < best.value
		}
		if !found || tighter || (b.value == best.value && b.exclusive) {
			best, found = b, true
		}
		return nil
	}
	draft4Exclusive, _ := s.values[exclusiveKey].(bool)
	if f, ok, err := numberKeyword(s, key, ptr); err != nil {
		return best, false, err
	} else if ok {
		if err := consider(bound{f, draft4Exclusive}); err != nil {
			return best, false, err
		}
	}
	if _, isBool := s.values[exclusiveKey].(bool); !isBool {
		if f, ok, err := numberKeyword(s, exclusiveKey, ptr); err != nil {
			return best, false, err
		} else if ok {
			if err := consider(bound{f, true}); err != nil {
				return best, false, err
			}
		}
	}
	return best, found, nil
}

// objectKeyword reads a keyword whose value is an object (nil when absent).
func objectKeyword(s *object, key, ptr string) (*object, error) {
	v, ok := s.get(key)
	if !ok {
		return nil, nil
	}
	o, isObject := v.(*object)
	if !isObject {
		return nil, schemaError(ptr, key, "expected an object")
	}
	return o, nil
}

// stringList reads a keyword whose value is an array of strings.
func stringList(s *object, key, ptr string) ([]string, error) {
	v, ok := s.get(key)
	if !ok {
		return nil, nil
	}
	list, isList := v.([]any)
	if !isList {
		return nil, schemaError(ptr, key, "expected an array of strings")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		str, isString := e.(string)
		if !isString {
			return nil, schemaError(ptr, key, "expected an array of strings")
		}
		out = append(out, str)
	}
	return out, nil
}

func toFloat(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}
