package runner

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUTF8JoinerKeepsSplitCharactersWhole(t *testing.T) {
	text := "aé€😀z"
	b := []byte(text)
	// Every split of the bytes into single-byte pieces must yield only valid chunks adding up to the text.
	var j utf8Joiner
	var out strings.Builder
	for i := range b {
		chunk := j.push(b[i : i+1])
		if !utf8.ValidString(chunk) {
			t.Fatalf("chunk %q after byte %d is not valid UTF-8", chunk, i)
		}
		out.WriteString(chunk)
	}
	out.WriteString(j.flush())
	if out.String() != text {
		t.Fatalf("joined %q, want %q", out.String(), text)
	}
}

func TestUTF8JoinerHoldsOnlyTheUnfinishedCharacter(t *testing.T) {
	var j utf8Joiner
	euro := []byte("€") // 3 bytes
	if got := j.push(append([]byte("ab"), euro[:2]...)); got != "ab" {
		t.Fatalf("push = %q, want %q released and the partial euro held", got, "ab")
	}
	if got := j.push(euro[2:]); got != "€" {
		t.Fatalf("push = %q, want the completed euro", got)
	}
}

func TestUTF8JoinerReplacesInvalidBytes(t *testing.T) {
	var j utf8Joiner
	if got := j.push([]byte{'a', 0xFF, 'b'}); got != "a\uFFFDb" {
		t.Fatalf("push = %q, want the invalid byte replaced", got)
	}
	j.push([]byte{0xE2, 0x82}) // an unfinished euro when generation ends
	if got := j.flush(); got != "\uFFFD" {
		t.Fatalf("flush = %q, want U+FFFD for the unfinished character", got)
	}
}
