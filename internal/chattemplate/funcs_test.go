package chattemplate

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTojsonIndentKeepsOrder(t *testing.T) {
	tmpl, err := Compile(`{{ tools[0].function.parameters | tojson(indent=2) }}|{{ tools[0].function.parameters|tojson }}`)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Tools: []Tool{{Name: "f", Parameters: []byte(`{"z": [1, 2.5, "<&>"], "a": {}, "m": null}`)}}}
	want := "{\n  \"z\": [\n    1,\n    2.5,\n    \"<&>\"\n  ],\n  \"a\": {},\n  \"m\": null\n}|" +
		`{"z": [1, 2.5, "<&>"], "a": {}, "m": null}`
	if got := render(t, tmpl, in); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTojsonEnsureASCII(t *testing.T) {
	tmpl, err := Compile(`{{ x | tojson(ensure_ascii=true) }} {{ x | tojson }}`)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Kwargs: map[string]json.RawMessage{"x": json.RawMessage(`"é😀\n"`)}}
	if got, want := render(t, tmpl, in), `"\u00e9\ud83d\ude00\n" "é😀\n"`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
}

func TestStrftimeNow(t *testing.T) {
	now := time.Date(2026, time.March, 4, 15, 6, 7, 0, time.UTC)
	cases := map[string]string{
		"%d %b %Y":          "04 Mar 2026",
		"%Y-%m-%d %H:%M:%S": "2026-03-04 15:06:07",
		"%A %B %e, %y %j":   "Wednesday March  4, 26 063",
		"%I %p %%":          "03 PM %",
	}
	for format, want := range cases {
		if got := strftime(now, format); got != want {
			t.Errorf("strftime(%q) = %q, want %q", format, got, want)
		}
	}
	tmpl, err := Compile(`{{ strftime_now("%d %B") }}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(t, tmpl, Input{Now: now}); got != "04 March" {
		t.Errorf("strftime_now in a template: got %q", got)
	}
}
