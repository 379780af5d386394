package grammar

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// charSet is a set of characters as sorted, disjoint, non-adjacent ranges.
type charSet []runeRange

type runeRange struct{ lo, hi rune }

func setOf(ranges ...runeRange) charSet { return normalize(ranges) }

func normalize(rs []runeRange) charSet {
	sorted := append([]runeRange(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].lo < sorted[j].lo })
	var out charSet
	for _, r := range sorted {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (s charSet) union(o charSet) charSet {
	return normalize(append(append([]runeRange(nil), s...), o...))
}

// negate is every character not in s.
func (s charSet) negate() charSet {
	var out charSet
	next := rune(0)
	for _, r := range s {
		if r.lo > next {
			out = append(out, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, runeRange{next, utf8.MaxRune})
	}
	return out
}

func (s charSet) minus(o charSet) charSet {
	return s.negate().union(o).negate()
}

func (s charSet) contains(c rune) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].hi >= c })
	return i < len(s) && s[i].lo <= c
}

// jsonSpecials are the characters a JSON string writes only as an escape.
var jsonSpecials = setOf(runeRange{0, 0x1f}, runeRange{'"', '"'}, runeRange{'\\', '\\'})

// jsonChars is an expression for one character of s written inside a JSON string: a character class for
// the characters written as themselves, and the escapes of those that must be escaped. s is not empty.
func jsonChars(s charSet) string {
	var parts []string
	if plain := s.minus(jsonSpecials); len(plain) > 0 {
		parts = append(parts, class(plain))
	}
	var short strings.Builder // the letters of the short escapes, such as n for \n
	for _, c := range `"\bfnrt` {
		if r := shortEscaped(c); s.contains(r) {
			short.WriteString(gbnfChar(c, true))
		}
	}
	if short.Len() > 0 {
		parts = append(parts, `"\\" [`+short.String()+`]`)
	}
	if len(s) > 0 && s[0].lo == 0 && s[0].hi >= 0x1f {
		// Every control character: those without a short escape as \u00XX.
		parts = append(parts, `"\\u00" ("0" [0-7be-f] | "1" [0-9a-f])`)
	} else {
		for c := rune(0); c < 0x20; c++ {
			if s.contains(c) && shortEscaped(rune(jsonEscape(c)[1])) != c {
				parts = append(parts, literal(jsonEscape(c)))
			}
		}
	}
	return alt(parts...)
}

// shortEscaped is the character a JSON short escape letter stands for (n: newline), or -1.
func shortEscaped(letter rune) rune {
	switch letter {
	case '"', '\\':
		return letter
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return -1
}

// class writes s as a GBNF character class.
func class(s charSet) string {
	var b strings.Builder
	b.WriteByte('[')
	for _, r := range s {
		b.WriteString(gbnfChar(r.lo, true))
		if r.hi != r.lo {
			b.WriteByte('-')
			b.WriteString(gbnfChar(r.hi, true))
		}
	}
	b.WriteByte(']')
	return b.String()
}
