package grammar

import (
	"strings"
	"testing"
)

// A composed grammar frames schemas in literal text; a schema's "$ref": "#" is its own rule, not the root.
func TestBuilderComposesSchemasAndText(t *testing.T) {
	b := NewBuilder()
	list, err := b.Schema([]byte(`{"type":"object","properties":{"next":{"$ref":"#"}}}`), "list")
	if err != nil {
		t.Fatal(err)
	}
	count, err := b.Schema([]byte(`{"type":"integer","minimum":0,"maximum":9}`), "count")
	if err != nil {
		t.Fatal(err)
	}
	g := b.Grammar(Literal("<x>") + " " + b.Space() + " " + list + " " + count + " " + Literal("</x>"))
	for _, want := range []string{`root ::= "<x>" ws list count "</x>"`, "list ::= ", "count ::= ", "ws ::= "} {
		if !strings.Contains(g, want) {
			t.Errorf("the grammar has no %q:\n%s", want, g)
		}
	}
	if strings.Contains(g, " root") {
		t.Errorf("the schema's reference to itself leads to the root:\n%s", g)
	}
	if _, err := b.Schema([]byte(`{"not":{}}`), "bad"); err == nil {
		t.Error("a schema the converter refuses gave no error")
	}
}
