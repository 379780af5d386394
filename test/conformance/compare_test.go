package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// answer is one server's reply to a case, read into the view the comparison walks: the decoded JSON body,
// or for a stream of server-sent events an object {"first", "next", "last", "done", "text", "reasoning"}:
// its first, second and last data events, whether it ended with "data: [DONE]", and the text and the
// reasoning of all its events (chat's delta.reasoning_content, Anthropic's thinking_delta, the Responses
// API's reasoning_text deltas).
type answer struct {
	status    int
	mediaType string
	view      any
	raw       string
}

// ask sends a case's request to base.
func ask(t *testing.T, base string, c testCase) answer {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), c.method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s to %s: %v", c.method, c.path, base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s to %s: reading the answer: %v", c.method, c.path, base, err)
	}
	a := answer{status: resp.StatusCode, raw: string(raw)}
	a.mediaType, _, _ = mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if a.mediaType == "text/event-stream" {
		a.view = streamView(string(raw))
	} else if err := json.Unmarshal(raw, &a.view); err != nil {
		a.view = string(raw)
	}
	return a
}

// streamView reads server-sent events into the object the comparison walks.
func streamView(raw string) map[string]any {
	var events []any
	done := false
	for _, line := range strings.Split(raw, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var ev any
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			ev = data
		}
		events = append(events, ev)
	}
	view := map[string]any{"done": done}
	var text, reasoning strings.Builder
	for _, ev := range events {
		if s, ok := textOf(ev).(string); ok {
			text.WriteString(s)
		}
		if s, ok := reasoningOf(ev).(string); ok {
			reasoning.WriteString(s)
		}
	}
	view["text"], view["reasoning"] = text.String(), reasoning.String()
	if len(events) > 0 {
		view["first"], view["last"] = events[0], events[len(events)-1]
	}
	if len(events) > 2 {
		view["next"] = events[1]
	}
	return view
}

// textOf is the generated text an answer or a stream event carries, wherever its endpoint puts it.
func textOf(v any) any {
	if s, ok := typedDelta(v, "response.output_text.delta"); ok {
		return s
	}
	return firstString(v, "content", "choices[].message.content", "choices[].delta.content", "choices[].text", "delta.text")
}

// reasoningOf is the reasoning a stream event carries, wherever its endpoint puts it.
func reasoningOf(v any) any {
	if s, ok := typedDelta(v, "response.reasoning_text.delta"); ok {
		return s
	}
	return firstString(v, "choices[].delta.reasoning_content", "delta.thinking")
}

// firstString is the first string found at one of paths, in their order.
func firstString(v any, paths ...string) any {
	for _, path := range paths {
		if vals := valuesAt(v, path); len(vals) > 0 {
			if s, ok := vals[0].(string); ok {
				return s
			}
		}
	}
	return nil
}

// typedDelta is the "delta" text of a Responses API stream event of type typ.
func typedDelta(v any, typ string) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || m["type"] != typ {
		return "", false
	}
	s, ok := m["delta"].(string)
	return s, ok
}

// finding is one difference between the two answers: where, of what kind, and how.
type finding struct {
	path   string
	kind   kind
	detail string
}

// compareAnswers lists every difference between the runner's answer and llama-server's that the case's
// comparison can see.
func compareAnswers(c testCase, r, l answer) []finding {
	var out []finding
	if r.status != l.status {
		out = append(out, finding{"status", differs, fmt.Sprintf("runner %d, llama-server %d", r.status, l.status)})
	}
	if r.mediaType != l.mediaType {
		out = append(out, finding{"content-type", differs, fmt.Sprintf("runner %q, llama-server %q", r.mediaType, l.mediaType)})
	}
	out = append(out, compareShape("", r.view, l.view)...)
	for _, path := range c.compare.same {
		rv, lv := valuesAt(r.view, path), valuesAt(l.view, path)
		if path == c.compare.text && repeatsPrefill(rv, lv, c.compare.prefill) {
			out = append(out, finding{path, prefillRepeated, fmt.Sprintf("llama-server starts with %q, then the runner's %s", c.compare.prefill, brief(rv))})
			continue
		}
		if !reflect.DeepEqual(rv, lv) {
			out = append(out, finding{path, differs, fmt.Sprintf("runner %s, llama-server %s", brief(rv), brief(lv))})
		}
	}
	for _, path := range c.compare.near {
		if detail := apart(valuesAt(r.view, path), valuesAt(l.view, path)); detail != "" {
			out = append(out, finding{path, differs, detail})
		}
	}
	return out
}

// repeatsPrefill reports whether l is r but for prefill, written at the start of its first text.
func repeatsPrefill(r, l []any, prefill string) bool {
	if prefill == "" || len(r) == 0 || len(r) != len(l) {
		return false
	}
	rs, okR := r[0].(string)
	ls, okL := l[0].(string)
	return okR && okL && ls == prefill+rs && reflect.DeepEqual(r[1:], l[1:])
}

// apart says how two lists of numbers differ by more than nearness, or "" when they do not.
func apart(r, l []any) string {
	if len(r) != len(l) || len(r) == 0 {
		return fmt.Sprintf("runner %d numbers, llama-server %d", len(r), len(l))
	}
	for i := range r {
		a, okA := r[i].(float64)
		b, okB := l[i].(float64)
		if !okA || !okB || math.Abs(a-b) > nearness {
			return fmt.Sprintf("number %d: runner %s, llama-server %s", i, brief(r[i]), brief(l[i]))
		}
	}
	return ""
}

// compareShape walks both values and reports keys found on one side only and values of different JSON
// types; array elements are compared pairwise, and an array empty on one side only is a difference.
func compareShape(path string, r, l any) []finding {
	if tr, tl := typeOf(r), typeOf(l); tr != tl {
		return []finding{{orRoot(path), differs, fmt.Sprintf("runner %s %s, llama-server %s %s", tr, brief(r), tl, brief(l))}}
	}
	var out []finding
	switch r := r.(type) {
	case map[string]any:
		l := l.(map[string]any)
		for _, k := range unionKeys(r, l) {
			p := join(path, k)
			rv, inR := r[k]
			lv, inL := l[k]
			switch {
			case !inR:
				out = append(out, finding{p, onlyLlama, brief(lv)})
			case !inL:
				out = append(out, finding{p, onlyRunner, brief(rv)})
			default:
				out = append(out, compareShape(p, rv, lv)...)
			}
		}
	case []any:
		l := l.([]any)
		if (len(r) == 0) != (len(l) == 0) {
			return []finding{{orRoot(path), differs, fmt.Sprintf("runner %d elements, llama-server %d", len(r), len(l))}}
		}
		for i := range min(len(r), len(l)) {
			out = append(out, compareShape(path+"[]", r[i], l[i])...)
		}
	}
	return dedupe(out)
}

// dedupe keeps the first finding of each path and kind (array elements repeat them).
func dedupe(fs []finding) []finding {
	seen := map[string]bool{}
	var out []finding
	for _, f := range fs {
		key := f.path + "\x00" + f.kind.String()
		if !seen[key] {
			seen[key] = true
			out = append(out, f)
		}
	}
	return out
}

func orRoot(path string) string {
	if path == "" {
		return "."
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func unionKeys(a, b map[string]any) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// typeOf is a decoded JSON value's type name.
func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// valuesAt collects the values at path: keys joined by ".", "[]" stepping into every element of an array.
func valuesAt(v any, path string) []any {
	vals := []any{v}
	for _, seg := range strings.Split(path, ".") {
		key, depth := seg, 0
		for strings.HasSuffix(key, "[]") {
			key, depth = strings.TrimSuffix(key, "[]"), depth+1
		}
		var next []any
		for _, cur := range vals {
			if key == "" { // "[]" at the root: the elements of the answer itself
				next = append(next, cur)
				continue
			}
			if m, ok := cur.(map[string]any); ok {
				if child, ok := m[key]; ok {
					next = append(next, child)
				}
			}
		}
		for range depth {
			var elems []any
			for _, cur := range next {
				if arr, ok := cur.([]any); ok {
					elems = append(elems, arr...)
				}
			}
			next = elems
		}
		vals = next
	}
	return vals
}

// brief is v as JSON, cut short for a message.
func brief(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	s := strings.TrimSpace(b.String())
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
