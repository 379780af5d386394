package grammar

import (
	"fmt"
	"strings"
)

// SchemaError is a schema the converter refuses: the keyword, where it is, and why.
type SchemaError struct {
	// Pointer is a JSON pointer into the schema, "#" for its root.
	Pointer string
	Keyword string
	Problem string
}

func (e *SchemaError) Error() string {
	if e.Keyword == "" {
		return fmt.Sprintf("at %s: %s", e.Pointer, e.Problem)
	}
	return fmt.Sprintf("%q at %s: %s", e.Keyword, e.Pointer, e.Problem)
}

func schemaError(ptr, keyword, format string, args ...any) *SchemaError {
	return &SchemaError{Pointer: ptr, Keyword: keyword, Problem: fmt.Sprintf(format, args...)}
}

// child is the JSON pointer of a member of the value at ptr.
func child(ptr string, tokens ...any) string {
	var b strings.Builder
	b.WriteString(ptr)
	for _, t := range tokens {
		b.WriteByte('/')
		s := fmt.Sprint(t)
		s = strings.ReplaceAll(s, "~", "~0")
		b.WriteString(strings.ReplaceAll(s, "/", "~1"))
	}
	return b.String()
}
