package gateway

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseInference(t *testing.T) {
	cases := []struct {
		name, body, model, code string
		stream                  bool
	}{
		{"plain", `{"model":"tiny","messages":[]}`, "tiny", "", false},
		{"stream", `{"stream":true,"model":"tiny"}`, "tiny", "", true},
		{"stream null", `{"model":"tiny","stream":null}`, "tiny", "", false},
		{"nested model ignored", `{"x":{"model":"inner"},"model":"outer"}`, "outer", "", false},
		{"escaped key", `{"mod\u0065l":"tiny"}`, "tiny", "", false},
		{"escaped value", `{"model":"ti\"ny"}`, `ti"ny`, "", false},
		{"whitespace", " \n{ \"model\" : \"tiny\" , \"stream\" : false }\n", "tiny", "", false},
		{"strings with braces", `{"prompt":"{[}]\"","model":"tiny"}`, "tiny", "", false},
		{"invalid json", `{"model":"tiny"`, "", "invalid_json", false},
		{"not an object", `["model","tiny"]`, "", "invalid_json", false},
		{"empty", ``, "", "invalid_json", false},
		{"missing model", `{"messages":[]}`, "", "missing_model", false},
		{"empty model", `{"model":""}`, "", "missing_model", false},
		{"model not a string", `{"model":42}`, "", "invalid_model", false},
		{"duplicate model", `{"model":"a","model":"b"}`, "", "duplicate_model", false},
		{"stream not a bool", `{"model":"tiny","stream":"yes"}`, "", "invalid_stream", false},
		{"invalid utf-8", "{\"model\":\"t\xffny\"}", "", "invalid_json", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := parseInference([]byte(tc.body), &routes[0])
			if tc.code != "" {
				if err == nil || err.Code != tc.code || err.Status != 400 {
					t.Fatalf("want 400 %s, got %+v", tc.code, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %+v", err)
			}
			if in.model != tc.model || in.stream != tc.stream {
				t.Fatalf("got model %q stream %v", in.model, in.stream)
			}
		})
	}
}

func TestWithModelRenamesOnlyTheModel(t *testing.T) {
	body := `{"messages":[{"role":"user","content":"model"}], "model" : "tiny","stream":true}`
	in, err := parseInference([]byte(body), &routes[0])
	if err != nil {
		t.Fatal(err)
	}
	out := in.withModel(`remote/"big"`)
	var got map[string]any
	if e := json.Unmarshal(out, &got); e != nil {
		t.Fatalf("rewritten body is not JSON: %s", out)
	}
	if got["model"] != `remote/"big"` || got["stream"] != true || !strings.Contains(string(out), `"content":"model"`) {
		t.Fatalf("got %s", out)
	}
}

func FuzzParseInference(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseInference(body, &routes[0])
		if err != nil {
			return
		}
		// Whatever it accepts must agree with encoding/json (exact keys).
		var ref map[string]any
		if json.Unmarshal(body, &ref) != nil || ref["model"] != in.model {
			t.Fatalf("parsed model %q, encoding/json says %v", in.model, ref["model"])
		}
		if !json.Valid(in.withModel("renamed")) {
			t.Fatalf("renaming broke the body: %s", in.withModel("renamed"))
		}
	})
}
