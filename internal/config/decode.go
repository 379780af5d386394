package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// decoder turns the generic YAML tree into typed values, recording a
// Problem with the key path for every value of the wrong shape. Decoding a
// generic tree by hand, rather than into tagged structs, is what lets every
// message name the full key path and list the keys that are allowed.
type decoder struct{ p *problems }

func (d *decoder) mapping(path string, v any) (yaml.MapSlice, bool) {
	switch m := v.(type) {
	case yaml.MapSlice:
		return m, true
	case nil:
		return nil, true
	}
	d.p.add(path, "want a mapping of keys to values, got %s", describe(v))
	return nil, false
}

// fields calls set for each key of a mapping, and reports keys set does
// not know about along with the keys that are allowed.
func (d *decoder) fields(path string, v any, known []string, set func(key string, value any, path string)) {
	m, ok := d.mapping(path, v)
	if !ok {
		return
	}
	for _, item := range m {
		key, isString := item.Key.(string)
		if !isString {
			d.p.add(path, "key %v is not a string", item.Key)
			continue
		}
		if !contains(known, key) {
			d.p.add(join(path, key), "unknown key (known keys: %s)", strings.Join(sorted(known), ", "))
			continue
		}
		set(key, item.Value, join(path, key))
	}
}

func (d *decoder) str(path string, v any) string {
	s, ok := v.(string)
	if !ok {
		d.p.add(path, "want a string, got %s", describe(v))
	}
	return s
}

func (d *decoder) boolean(path string, v any) bool {
	b, ok := v.(bool)
	if !ok {
		d.p.add(path, "want true or false, got %s", describe(v))
	}
	return b
}

// integer accepts whole numbers in [min, math.MaxInt32].
func (d *decoder) integer(path string, v any, min int) int {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case uint64:
		if x > math.MaxInt32 {
			d.p.add(path, "%d is too large", x)
			return 0
		}
		n = int64(x)
	default:
		d.p.add(path, "want a whole number, got %s", describe(v))
		return 0
	}
	if n < int64(min) || n > math.MaxInt32 {
		d.p.add(path, "%d is out of range (want %d or more)", n, min)
		return 0
	}
	return int(n)
}

// duration accepts Go duration strings ("500ms", "30s", "2m") greater
// than zero. A bare number is refused: "30" is ambiguous between seconds
// and nanoseconds.
func (d *decoder) duration(path string, v any) time.Duration {
	s, ok := v.(string)
	if !ok {
		d.p.add(path, "want a duration such as \"30s\" or \"500ms\", got %s", describe(v))
		return 0
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.p.add(path, "%q is not a duration (want e.g. \"30s\", \"500ms\", \"2m\")", s)
		return 0
	}
	if dur <= 0 {
		d.p.add(path, "%q must be greater than zero", s)
		return 0
	}
	return dur
}

// durationOrZero is duration where 0 (or "0") means "never".
func (d *decoder) durationOrZero(path string, v any) time.Duration {
	switch x := v.(type) {
	case uint64:
		if x == 0 {
			return 0
		}
	case int64:
		if x == 0 {
			return 0
		}
	case string:
		if x == "0" || x == "0s" {
			return 0
		}
	}
	return d.duration(path, v)
}

// sizeOrZero is size where 0 means "not set" (estimate, no budget).
func (d *decoder) sizeOrZero(path string, v any) int64 {
	if n, ok := v.(uint64); ok && n == 0 {
		return 0
	}
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "0" {
		return 0
	}
	return d.size(path, v)
}

// size accepts a byte count or a string with a unit: "8MiB", "512KiB", "1GB".
func (d *decoder) size(path string, v any) int64 {
	switch x := v.(type) {
	case uint64:
		if x == 0 || x > math.MaxInt64 {
			d.p.add(path, "%d is out of range", x)
			return 0
		}
		return int64(x)
	case string:
		n, err := parseSize(x)
		if err != nil {
			d.p.add(path, "%v", err)
		}
		return n
	}
	d.p.add(path, "want a size such as 8MiB or a byte count, got %s", describe(v))
	return 0
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size (want e.g. 8MiB, 512KiB or a byte count)", s)
	}
	return n * mult, nil
}

func (d *decoder) strings(path string, v any) []string {
	list, ok := v.([]any)
	if !ok {
		if v != nil {
			d.p.add(path, "want a list of strings, got %s", describe(v))
		}
		return nil
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		out = append(out, d.str(fmt.Sprintf("%s[%d]", path, i), item))
	}
	return out
}

func (d *decoder) stringMap(path string, v any) map[string]string {
	m, ok := d.mapping(path, v)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for _, item := range m {
		key, isString := item.Key.(string)
		if !isString {
			d.p.add(path, "key %v is not a string", item.Key)
			continue
		}
		switch val := item.Value.(type) {
		case string:
			out[key] = val
		case int64, uint64, float64, bool:
			out[key] = fmt.Sprint(val)
		default:
			d.p.add(join(path, key), "want a string, got %s", describe(item.Value))
		}
	}
	return out
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case int64, uint64:
		return fmt.Sprintf("the number %v", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case []any:
		return "a list"
	case yaml.MapSlice:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sorted(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}
