package grammar

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// repetitionLimit is the largest count llama.cpp's grammar parser takes in {n,m}: a larger minimum is a
// parse error and a larger maximum is read as no maximum.
const repetitionLimit = 2000

// Character classes of ECMAScript regular expressions, the dialect JSON Schema patterns use.
var (
	digitSet = setOf(runeRange{'0', '9'})
	wordSet  = setOf(runeRange{'0', '9'}, runeRange{'A', 'Z'}, runeRange{'_', '_'}, runeRange{'a', 'z'})
	spaceSet = setOf(runeRange{'\t', '\r'}, runeRange{' ', ' '}, runeRange{0xa0, 0xa0}, runeRange{0x1680, 0x1680},
		runeRange{0x2000, 0x200a}, runeRange{0x2028, 0x2029}, runeRange{0x202f, 0x202f}, runeRange{0x205f, 0x205f},
		runeRange{0x3000, 0x3000}, runeRange{0xfeff, 0xfeff})
	// dotSet is what '.' matches: anything but a line terminator.
	dotSet = setOf(runeRange{'\n', '\n'}, runeRange{'\r', '\r'}, runeRange{0x2028, 0x2029}).negate()
)

// patternParser translates a regular expression into a GBNF expression for the JSON string content that
// matches it. It takes the common part of the language: literals and escapes, classes, '.', groups
// (capturing or not), alternation, and the quantifiers *, +, ?, {n}, {n,}, {n,m} (greedy or lazy, which
// match the same strings); anchors only at the start and end. Lookaround, backreferences, word boundaries,
// Unicode properties and flags are refused.
type patternParser struct {
	src string
	pos int
}

// patternString is the expression for a JSON string, quotes included, whose value matches pattern. An
// unanchored side may carry any other characters, as a JSON Schema pattern need not match the whole string.
func (r *rules) patternString(pattern string) (string, error) {
	body := pattern
	anchoredStart := strings.HasPrefix(body, "^")
	if anchoredStart {
		body = body[1:]
	}
	anchoredEnd := strings.HasSuffix(body, "$") && !escapedAt(body, len(body)-1)
	if anchoredEnd {
		body = body[:len(body)-1]
	}
	p := &patternParser{src: body}
	expr, _, err := p.alternatives()
	if err != nil {
		return "", err
	}
	if p.pos < len(p.src) {
		return "", p.errorf("unbalanced ')'")
	}
	var parts []string
	parts = append(parts, `"\""`)
	if !anchoredStart {
		parts = append(parts, r.char()+"*")
	}
	parts = append(parts, group(expr))
	if !anchoredEnd {
		parts = append(parts, r.char()+"*")
	}
	parts = append(parts, `"\""`)
	return seq(parts...), nil
}

// escapedAt reports whether the character at i is preceded by an odd number of backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

func (p *patternParser) errorf(format string, args ...any) error {
	return fmt.Errorf("regular expression %q, at offset %d: %s", p.src, p.pos, fmt.Sprintf(format, args...))
}

func (p *patternParser) more() bool { return p.pos < len(p.src) }

func (p *patternParser) peek() rune {
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return r
}

func (p *patternParser) next() rune {
	r, n := utf8.DecodeRuneInString(p.src[p.pos:])
	p.pos += n
	return r
}

// Each part of the translation also reports whether it matches the empty string: an unbounded repetition
// of such a part would be a left-recursive rule, which llama.cpp refuses, so it is bounded instead
// (nullableRepeatCap times is as many as a generator needs).
const nullableRepeatCap = 32

func (p *patternParser) alternatives() (string, bool, error) {
	var parts []string
	nullable := false
	for {
		s, empty, err := p.sequence()
		if err != nil {
			return "", false, err
		}
		parts = append(parts, s)
		nullable = nullable || empty
		if !p.more() || p.peek() != '|' {
			break
		}
		p.next()
	}
	for i, s := range parts {
		if s == "" {
			parts[i] = `""`
		}
	}
	return alt(parts...), nullable, nil
}

func (p *patternParser) sequence() (string, bool, error) {
	var items []string
	nullable := true
	for p.more() && p.peek() != '|' && p.peek() != ')' {
		atom, empty, err := p.atom()
		if err != nil {
			return "", false, err
		}
		atom, empty, err = p.quantified(atom, empty)
		if err != nil {
			return "", false, err
		}
		if topLevelAlternatives(atom) {
			atom = "(" + atom + ")"
		}
		items = append(items, atom)
		nullable = nullable && empty
	}
	return seq(items...), nullable, nil
}

func (p *patternParser) atom() (string, bool, error) {
	switch c := p.next(); c {
	case '(':
		if strings.HasPrefix(p.src[p.pos:], "?:") {
			p.pos += 2
		} else if strings.HasPrefix(p.src[p.pos:], "?") {
			return "", false, p.errorf("lookaround and named groups are not supported")
		}
		inner, nullable, err := p.alternatives()
		if err != nil {
			return "", false, err
		}
		if !p.more() || p.next() != ')' {
			return "", false, p.errorf("missing ')'")
		}
		return "(" + inner + ")", nullable, nil
	case '[':
		set, err := p.class()
		if err != nil {
			return "", false, err
		}
		if len(set) == 0 {
			return "", false, p.errorf("the character class matches no character")
		}
		return jsonChars(set), false, nil
	case '.':
		return jsonChars(dotSet), false, nil
	case '\\':
		set, err := p.escape(false)
		if err != nil {
			return "", false, err
		}
		return jsonChars(set), false, nil
	case '^', '$':
		return "", false, p.errorf("anchors are supported only at the start and the end of the pattern")
	case '*', '+', '?', '{':
		return "", false, p.errorf("quantifier %q follows nothing", c)
	default:
		return literal(jsonEscape(c)), false, nil
	}
}

// quantified applies the quantifier after atom, if any.
func (p *patternParser) quantified(atom string, nullable bool) (string, bool, error) {
	expr, lo, err := p.quantifiedBy(atom, nullable)
	return expr, nullable || lo == 0, err
}

func (p *patternParser) quantifiedBy(atom string, nullable bool) (string, int, error) {
	if !p.more() {
		return atom, 1, nil
	}
	lo, hi := 0, 0
	switch p.peek() {
	case '*':
		p.next()
		lo, hi = 0, -1
	case '+':
		p.next()
		lo, hi = 1, -1
	case '?':
		p.next()
		lo, hi = 0, 1
	case '{':
		var ok bool
		var err error
		lo, hi, ok, err = p.braces()
		if err != nil {
			return "", 0, err
		}
		if !ok {
			return atom, 1, nil
		}
	default:
		return atom, 1, nil
	}
	if p.more() && p.peek() == '?' {
		p.next() // lazy: the same strings
	} else if p.more() && p.peek() == '+' {
		return "", 0, p.errorf("possessive quantifiers are not supported")
	}
	if lo > repetitionLimit {
		return "", 0, p.errorf("a repetition of at least %d is more than the %d a grammar allows", lo, repetitionLimit)
	}
	if hi > repetitionLimit {
		hi = -1
	}
	if hi < 0 && nullable {
		hi = max(lo, nullableRepeatCap)
	}
	if hi == 0 {
		return `""`, 0, nil
	}
	return repeat(atom, lo, hi), lo, nil
}

// braces reads {n}, {n,} or {n,m}; ok is false (and nothing is consumed) when the brace is not a
// quantifier, as ECMAScript then reads it as a literal.
func (p *patternParser) braces() (lo, hi int, ok bool, err error) {
	end := strings.IndexByte(p.src[p.pos:], '}')
	if end < 0 {
		return 0, 0, false, nil
	}
	inner := p.src[p.pos+1 : p.pos+end]
	first, second, comma := strings.Cut(inner, ",")
	lo, err1 := strconv.Atoi(first)
	if err1 != nil || lo < 0 {
		return 0, 0, false, nil
	}
	hi = lo
	if comma {
		hi = -1
		if second != "" {
			n, err2 := strconv.Atoi(second)
			if err2 != nil {
				return 0, 0, false, nil
			}
			hi = n
		}
	}
	p.pos += end + 1
	if hi >= 0 && hi < lo {
		return 0, 0, false, p.errorf("{%s}: the maximum is below the minimum", inner)
	}
	return lo, hi, true, nil
}

// class reads a character class after its '['.
func (p *patternParser) class() (charSet, error) {
	negated := p.more() && p.peek() == '^'
	if negated {
		p.next()
	}
	var set charSet
	first := true
	for {
		if !p.more() {
			return nil, p.errorf("missing ']'")
		}
		if p.peek() == ']' && !first {
			p.next()
			break
		}
		first = false
		lo, loSet, err := p.classAtom()
		if err != nil {
			return nil, err
		}
		if loSet != nil {
			set = set.union(loSet)
			continue
		}
		if strings.HasPrefix(p.src[p.pos:], "-") && p.pos+1 < len(p.src) && p.src[p.pos+1] != ']' {
			p.next()
			hi, hiSet, err := p.classAtom()
			if err != nil {
				return nil, err
			}
			if hiSet != nil || hi < lo {
				return nil, p.errorf("invalid range in a character class")
			}
			set = set.union(setOf(runeRange{lo, hi}))
			continue
		}
		set = set.union(setOf(runeRange{lo, lo}))
	}
	if negated {
		set = set.negate()
	}
	return set, nil
}

// classAtom reads one character of a class, or a class escape such as \d (then the set is not nil).
func (p *patternParser) classAtom() (rune, charSet, error) {
	c := p.next()
	if c != '\\' {
		return c, nil, nil
	}
	set, err := p.escape(true)
	if err != nil {
		return 0, nil, err
	}
	if len(set) == 1 && set[0].lo == set[0].hi {
		return set[0].lo, nil, nil
	}
	return 0, set, nil
}

// escape reads what follows a backslash.
func (p *patternParser) escape(inClass bool) (charSet, error) {
	if !p.more() {
		return nil, p.errorf("the pattern ends with a backslash")
	}
	one := func(c rune) (charSet, error) { return setOf(runeRange{c, c}), nil }
	switch c := p.next(); c {
	case 'd':
		return digitSet, nil
	case 'D':
		return digitSet.negate(), nil
	case 'w':
		return wordSet, nil
	case 'W':
		return wordSet.negate(), nil
	case 's':
		return spaceSet, nil
	case 'S':
		return spaceSet.negate(), nil
	case 'n':
		return one('\n')
	case 't':
		return one('\t')
	case 'r':
		return one('\r')
	case 'f':
		return one('\f')
	case 'v':
		return one('\v')
	case '0':
		return one(0)
	case 'x', 'u':
		digits := 2
		if c == 'u' {
			digits = 4
		}
		if p.pos+digits > len(p.src) {
			return nil, p.errorf(`\%c needs %d hexadecimal digits`, c, digits)
		}
		n, err := strconv.ParseUint(p.src[p.pos:p.pos+digits], 16, 32)
		if err != nil {
			return nil, p.errorf(`\%c needs %d hexadecimal digits`, c, digits)
		}
		p.pos += digits
		return one(rune(n))
	case 'b':
		if inClass {
			return one('\b')
		}
		return nil, p.errorf(`word boundaries (\b) are not supported`)
	default:
		if c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '1' && c <= '9') {
			return nil, p.errorf(`the escape \%c is not supported`, c)
		}
		return one(c)
	}
}
