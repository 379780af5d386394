package grammar

import (
	"fmt"
	"slices"
	"strings"
)

// Through returns GBNF rules, named name and name-NN, of which name matches any text up to and including
// the first occurrence of marker: a thinking model's reasoning up to its end marker ("</think>"), which a
// JSON reply may follow. The rules are the marker's matching automaton (KMP's): a state is how much of the
// marker the text ends with, and a character either extends the match, falls back to a shorter one, or
// starts over. Marker must not be empty.
func Through(name, marker string) string {
	var b strings.Builder
	for _, rule := range throughRules(name, marker) {
		fmt.Fprintf(&b, "%s ::= %s\n", rule.name, rule.body)
	}
	return b.String()
}

// Through adds the rules of text up to and including the first occurrence of marker (see the function
// Through) and returns the symbol that generates it, a rule named after hint: a tool call's argument
// written as raw text up to its closing tag.
func (b *Builder) Through(hint, marker string) string {
	name := b.r.reserve(hint)
	for _, rule := range throughRules(name, marker) {
		b.r.bodies[rule.name] = rule.body
	}
	return name
}

// namedRule is one rule of a grammar.
type namedRule struct{ name, body string }

// throughRules are Through's rules: the automaton's states, the start state named name.
func throughRules(name, marker string) []namedRule {
	m := []rune(marker)
	alphabet := slices.Compact(slices.Sorted(slices.Values(m)))
	state := func(q int) string {
		if q == 0 {
			return name
		}
		return fmt.Sprintf("%s-%02d", name, q)
	}
	rules := make([]namedRule, 0, len(m))
	for q := range m {
		var alts, known []string
		dests := map[int][]rune{}
		for _, c := range alphabet {
			switch next := advance(m, q, c); {
			case next == len(m):
				alts = append(alts, runeClass(c))
				known = append(known, string(c))
			case next > 0:
				dests[next] = append(dests[next], c)
				known = append(known, string(c))
			}
		}
		for next := range len(m) {
			if cs := dests[next]; len(cs) > 0 {
				alts = append(alts, runeClass(cs...)+" "+state(next))
			}
		}
		alts = append(alts, negatedClass([]rune(strings.Join(known, "")))+" "+name)
		rules = append(rules, namedRule{state(q), strings.Join(alts, " | ")})
	}
	return rules
}

// advance is the marker's automaton: from having matched m[:q], the length matched after c.
func advance(m []rune, q int, c rune) int {
	if m[q] == c {
		return q + 1
	}
	for k := q; k > 0; k-- {
		// the longest proper prefix of m that ends the text m[:q] + c
		if m[k-1] == c && slices.Equal(m[:k-1], m[q-k+1:q]) {
			return k
		}
	}
	return 0
}

func runeClass(cs ...rune) string {
	var b strings.Builder
	b.WriteByte('[')
	for _, c := range cs {
		b.WriteString(gbnfChar(c, true))
	}
	b.WriteByte(']')
	return b.String()
}

func negatedClass(cs []rune) string {
	return "[^" + runeClass(cs...)[1:]
}
