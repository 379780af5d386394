package runner

import (
	"strings"
	"unicode/utf8"
)

// utf8Joiner turns token pieces, which may split a multi-byte character between tokens, into valid UTF-8
// text: it keeps an incomplete trailing sequence until the next piece completes it, so every streamed chunk
// is valid UTF-8 on its own.
type utf8Joiner struct {
	partial []byte
}

// push adds a token's bytes and returns the complete text so far; an unfinished character stays inside.
// Bytes that can never start or continue a character are replaced by U+FFFD at once.
func (j *utf8Joiner) push(piece []byte) string {
	buf := append(j.partial, piece...)
	cut := incompleteTail(buf)
	j.partial = append([]byte(nil), buf[len(buf)-cut:]...)
	return strings.ToValidUTF8(string(buf[:len(buf)-cut]), "\uFFFD")
}

// flush returns what is left when generation ends, with an unfinished character replaced by U+FFFD.
func (j *utf8Joiner) flush() string {
	s := strings.ToValidUTF8(string(j.partial), "\uFFFD")
	j.partial = nil
	return s
}

// incompleteTail is the length of the trailing bytes of b that start a multi-byte character not yet complete
// (0 when b ends on a character boundary or with bytes that are invalid whatever follows).
func incompleteTail(b []byte) int {
	for n := 1; n <= min(utf8.UTFMax-1, len(b)); n++ {
		c := b[len(b)-n]
		if c < 0x80 {
			return 0 // ASCII: everything before the tail is complete
		}
		if c >= 0xC0 { // a leading byte: is the sequence it starts longer than what we have?
			if need := leadLength(c); need > n {
				return n
			}
			return 0
		}
	}
	return 0
}

// leadLength is the length of the UTF-8 sequence a leading byte announces (0 for a byte that cannot lead).
func leadLength(c byte) int {
	switch {
	case c&0xE0 == 0xC0:
		return 2
	case c&0xF0 == 0xE0:
		return 3
	case c&0xF8 == 0xF0:
		return 4
	}
	return 0
}
