package runner

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// docs/COMPATIBILITY.md promises to list every documented field the runner decides and every route it
// serves; this keeps the promise when a field or a route is added.
func TestCompatibilityDocListsEveryField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/COMPATIBILITY.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for _, f := range fieldTable {
		if !strings.Contains(text, "`"+f.name+"`") {
			t.Errorf("docs/COMPATIBILITY.md does not list the field %q of internal/runner/fields.go", f.name)
		}
	}
	for _, path := range routePaths(t) {
		if !strings.Contains(text, path) {
			t.Errorf("docs/COMPATIBILITY.md does not list the route %s of internal/runner/routes.go", path)
		}
	}
}

// routePaths reads the paths out of the string literals of routes.go ("GET /props", "/v1/models", ...).
func routePaths(t *testing.T) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "routes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	ast.Inspect(file, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		if _, after, found := strings.Cut(s, " "); found {
			s = after
		}
		if strings.HasPrefix(s, "/") && len(s) > 1 {
			paths = append(paths, strings.TrimSuffix(s, "/"))
		}
		return true
	})
	if len(paths) < 10 {
		t.Fatalf("found only %d routes in routes.go: %v", len(paths), paths)
	}
	return paths
}
