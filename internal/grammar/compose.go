package grammar

import "fmt"

// Builder composes one grammar of literal text, whitespace and JSON Schemas, for outputs that frame JSON
// in markers of their own, as a tool call's <tool_call> ... </tool_call> does. Rules the schemas share
// (strings, numbers, whitespace) are written once.
type Builder struct {
	r *rules
}

// NewBuilder starts an empty grammar.
func NewBuilder() *Builder {
	b := &Builder{r: newRules()}
	b.r.reserve("root")
	return b
}

// Schema adds the rules of JSON text valid against schema and returns the symbol that generates it, a
// rule named after hint. A keyword the grammar cannot honour is a *SchemaError, as in FromJSONSchema.
func (b *Builder) Schema(schema []byte, hint string) (string, error) {
	doc, err := decode(schema)
	if err != nil {
		return "", fmt.Errorf("the schema is not valid JSON: %v", err)
	}
	c := &converter{doc: doc, r: b.r, refs: map[string]string{}}
	name := b.r.reserve(hint)
	c.refs["#"] = name
	body, err := c.body(doc, "#", hint)
	if err != nil {
		return "", err
	}
	b.r.define(name, body)
	return name, nil
}

// Space is the symbol of the whitespace llama-server's grammars allow between the parts of JSON text:
// nothing, a space, or one or two line breaks and up to 20 spaces or tabs.
func (b *Builder) Space() string { return b.r.ws() }

// Rule names body, an expression over the builder's symbols and literals, and returns the name: hint, or
// hint with a number when a rule already has that name.
func (b *Builder) Rule(hint, body string) string {
	name := b.r.reserve(hint)
	b.r.define(name, body)
	return name
}

// Grammar writes the grammar whose root rule is root, an expression over the builder's symbols.
func (b *Builder) Grammar(root string) string {
	b.r.define("root", root)
	return b.r.text()
}

// Literal is s as a GBNF string literal.
func Literal(s string) string { return literal(s) }
