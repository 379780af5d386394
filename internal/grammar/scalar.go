package grammar

import (
	"encoding/json"
	"math"
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
			return "", schemaError(ptr, "format", "the format %q is not supported (date, time, date-time and uuid are)", name)
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

// integerBounds reads minimum, maximum and their exclusive forms (numbers since draft 6, booleans in
// draft 4) as the smallest and largest integers allowed; nil for a side without a bound.
func integerBounds(s *object, ptr string) (lo, hi *int64, err error) {
	exclusiveFlag := func(key string) bool { b, _ := s.values[key].(bool); return b }
	bound := func(key, exclusiveKey string, roundUp bool) (*int64, error) {
		var best *int64
		consider := func(f float64, exclusive bool) error {
			if math.Abs(f) > 1e15 {
				return schemaError(ptr, key, "%g is too large a bound (at most 10^15)", f)
			}
			var n int64
			if roundUp {
				n = int64(math.Ceil(f))
				if exclusive && float64(n) == f {
					n++
				}
			} else {
				n = int64(math.Floor(f))
				if exclusive && float64(n) == f {
					n--
				}
			}
			if best == nil || (roundUp && n > *best) || (!roundUp && n < *best) {
				best = &n
			}
			return nil
		}
		if f, ok, err := numberKeyword(s, key, ptr); err != nil {
			return nil, err
		} else if ok {
			if err := consider(f, exclusiveFlag(exclusiveKey)); err != nil {
				return nil, err
			}
		}
		if _, isBool := s.values[exclusiveKey].(bool); !isBool {
			if f, ok, err := numberKeyword(s, exclusiveKey, ptr); err != nil {
				return nil, err
			} else if ok {
				if err := consider(f, true); err != nil {
					return nil, err
				}
			}
		}
		return best, nil
	}
	if lo, err = bound("minimum", "exclusiveMinimum", true); err != nil {
		return nil, nil, err
	}
	if hi, err = bound("maximum", "exclusiveMaximum", false); err != nil {
		return nil, nil, err
	}
	return lo, hi, nil
}

// number is a JSON number. Of the bounds, only "minimum": 0 (a non-negative number) is supported.
func (c *converter) number(s *object, ptr string) (string, error) {
	for _, k := range []string{"maximum", "exclusiveMinimum", "exclusiveMaximum"} {
		if s.has(k) {
			return "", schemaError(ptr, k, "bounds on a number are not supported, except \"minimum\": 0 (use \"type\": \"integer\" for bounded integers)")
		}
	}
	if f, ok, err := numberKeyword(s, "minimum", ptr); err != nil {
		return "", err
	} else if ok {
		if f != 0 {
			return "", schemaError(ptr, "minimum", "bounds on a number are not supported, except \"minimum\": 0 (use \"type\": \"integer\" for bounded integers)")
		}
		return c.r.unsigned(), nil
	}
	return c.r.number(), nil
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
