package chattemplate

import (
	"errors"
	"strings"
	"testing"
)

func TestTemplateThatDoesNotParse(t *testing.T) {
	_, err := Compile("{% for m in messages %}{{ m.content }}")
	var te *TemplateError
	if !errors.As(err, &te) {
		t.Fatalf("got %T %v, want a *TemplateError", err, err)
	}
}

func TestTemplateThatFailsWhileRendering(t *testing.T) {
	tmpl, err := Compile("{{ messages | no_such_filter }}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmpl.Render(Input{Messages: []Message{{Role: "user", Content: "hi"}}})
	var te *TemplateError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "no_such_filter") {
		t.Fatalf("got %T %v, want a *TemplateError naming the filter", err, err)
	}
}

func TestRaiseExceptionIsTheClientsFault(t *testing.T) {
	tmpl := compileFile(t, nemoFile)
	in := Input{Messages: []Message{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}}
	_, err := tmpl.Render(in)
	var re *RaisedError
	if !errors.As(err, &re) {
		t.Fatalf("got %T %v, want a *RaisedError", err, err)
	}
	if !strings.Contains(re.Message, "roles must alternate") {
		t.Errorf("message %q does not say what the template wants", re.Message)
	}
}

func TestBadToolParametersAreTheClientsFault(t *testing.T) {
	in := Input{Messages: []Message{{Role: "user", Content: "a"}},
		Tools: []Tool{{Name: "f", Parameters: []byte(`{"type": "object",}`)}}}
	_, err := compileFile(t, qwen25File).Render(in)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "tool f") {
		t.Fatalf("got %T %v, want an *InputError naming the tool", err, err)
	}
}

func TestDeeplyNestedParametersAreRefused(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	in := Input{Messages: []Message{{Role: "user", Content: "a"}}, Tools: []Tool{{Name: "f", Parameters: []byte(deep)}}}
	_, err := compileFile(t, llama31File).Render(in)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("got %T %v, want an *InputError about the nesting", err, err)
	}
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	in.Tools[0].Parameters = []byte(ok)
	if _, err := compileFile(t, llama31File).Render(in); err != nil {
		t.Fatalf("%d levels: %v", maxDepth, err)
	}
}
