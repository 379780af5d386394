package grammar

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// rules is a grammar under construction: named rules, each written once, with identical bodies shared.
type rules struct {
	bodies map[string]string // name → body
	byBody map[string]string // body → name
}

func newRules() *rules { return &rules{bodies: map[string]string{}, byBody: map[string]string{}} }

var unsafeNameChars = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// ruleName turns a hint (a JSON pointer, a property name) into a rule name GBNF accepts: letters, digits
// and '-'.
func ruleName(hint string) string {
	n := strings.Trim(unsafeNameChars.ReplaceAllString(hint, "-"), "-")
	if n == "" {
		return "r"
	}
	return n
}

// reserve returns a name derived from hint that no rule has yet, and holds it for a body given later.
func (r *rules) reserve(hint string) string {
	base := ruleName(hint)
	name := base
	for i := 2; ; i++ {
		if _, taken := r.bodies[name]; !taken {
			break
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	r.bodies[name] = ""
	return name
}

// define sets the body of a reserved name.
func (r *rules) define(name, body string) {
	r.bodies[name] = body
	if _, ok := r.byBody[body]; !ok {
		r.byBody[body] = name
	}
}

// add names body, reusing the rule that already has this body.
func (r *rules) add(hint, body string) string {
	if name, ok := r.byBody[body]; ok {
		return name
	}
	name := r.reserve(hint)
	r.define(name, body)
	return name
}

// fixed adds a rule under exactly name, once (the shared JSON rules: "ws", "string", ...).
func (r *rules) fixed(name, body string) string {
	if _, ok := r.bodies[name]; !ok {
		r.bodies[name] = body
	}
	return name
}

// text writes the grammar: root first, then the other rules by name.
func (r *rules) text() string {
	names := make([]string, 0, len(r.bodies))
	for n := range r.bodies {
		if n != "root" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "root ::= %s\n", r.bodies["root"])
	for _, n := range names {
		fmt.Fprintf(&b, "%s ::= %s\n", n, r.bodies[n])
	}
	return b.String()
}

// literal is s as a GBNF string literal.
func literal(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		b.WriteString(gbnfChar(c, false))
	}
	b.WriteByte('"')
	return b.String()
}

// gbnfChar writes c inside a GBNF literal, or inside a character class when inClass.
func gbnfChar(c rune, inClass bool) string {
	switch c {
	case '"':
		return `\"`
	case '\\':
		return `\\`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if inClass && (c == '[' || c == ']' || c == '-') {
		return `\` + string(c)
	}
	if inClass && c == '^' {
		return `\x5E` // GBNF has no \^ escape
	}
	switch {
	case c < 0x20 || c == 0x7f:
		return fmt.Sprintf(`\x%02X`, c)
	case c > 0xffff:
		return fmt.Sprintf(`\U%08X`, c)
	case c >= 0x80 && !inClass:
		return string(c)
	case c >= 0x80:
		return fmt.Sprintf(`\u%04X`, c)
	}
	return string(c)
}

// alt joins alternatives; seq joins a sequence; group parenthesises an expression that has alternatives.
func alt(parts ...string) string { return strings.Join(parts, " | ") }

func seq(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}

func group(expr string) string {
	if expr == "" {
		return `""`
	}
	if topLevelAlternatives(expr) || strings.Contains(expr, " ") {
		return "(" + expr + ")"
	}
	return expr
}

// topLevelAlternatives reports whether expr has a '|' outside parentheses, literals and classes.
func topLevelAlternatives(expr string) bool {
	depth := 0
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '"', '[':
			i = skipQuoted(expr, i)
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// skipQuoted returns the index of the character closing the literal or class that opens at i.
func skipQuoted(s string, i int) int {
	closing := s[i]
	if closing == '[' {
		closing = ']'
	}
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case closing:
			return i
		}
	}
	return i
}

// repeat is expr repeated min to max times (max < 0: no bound), written as GBNF's postfix operators.
func repeat(expr string, min, max int) string {
	g := group(expr)
	switch {
	case max == 0:
		return ""
	case min == 0 && max < 0:
		return g + "*"
	case min == 1 && max < 0:
		return g + "+"
	case min == 0 && max == 1:
		return g + "?"
	case max < 0:
		return fmt.Sprintf("%s{%d,}", g, min)
	case min == max:
		if min == 1 {
			return g
		}
		return fmt.Sprintf("%s{%d}", g, min)
	}
	return fmt.Sprintf("%s{%d,%d}", g, min, max)
}
