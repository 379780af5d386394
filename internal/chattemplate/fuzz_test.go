package chattemplate

import (
	"encoding/json"
	"github.com/ardanlabs/jinja"
	"reflect"
	"strings"
	"testing"
)

// FuzzJSONThroughTojson checks that any JSON a client sends (a tool's parameters, a kwarg) converts to a
// template value without panicking, and that tojson, with and without indent, writes the same JSON back.
func FuzzJSONThroughTojson(f *testing.F) {
	for _, seed := range []string{`{"a": [1, 2.5, "x"], "b": {"c": null}}`, `"é\u0000<>&"`, `[]`, `{}`, `1e400`,
		`-0.0`, `12345678901234567890`, `{"a":1,"a":2}`, `[`, `"\ud800"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := valueFromJSON(raw)
		if !json.Valid(raw) {
			if err == nil {
				t.Fatalf("invalid JSON %q accepted", raw)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "nested deeper") {
				return
			}
			t.Fatalf("valid JSON %q refused: %v", raw, err)
		}
		var want any
		if json.Unmarshal(raw, &want) != nil {
			return // numbers beyond float64 decode in the template but not into any
		}
		for _, kwargs := range []map[string]any{nil, {"indent": 2}} {
			kw := map[string]jinja.Value{}
			for k, x := range kwargs {
				kw[k] = jinja.FromGoValue(x)
			}
			out, err := tojson([]jinja.Value{v}, kw)
			if err != nil {
				return // NaN or infinity cannot be written, as in Python
			}
			var got any
			if err := json.Unmarshal([]byte(out.AsString()), &got); err != nil {
				t.Fatalf("tojson %v of %q wrote invalid JSON %q: %v", kwargs, raw, out.AsString(), err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("tojson %v of %q gave %q", kwargs, raw, out.AsString())
			}
		}
	})
}
