package runner

import (
	"strings"
	"testing"
)

// feed pushes pieces through a matcher the way the scheduler does and returns what a client would see.
func feed(stops []string, pieces []string) (seen []string, stopped bool, word string) {
	m := stopMatcher{stops: stops}
	for _, p := range pieces {
		emit, s, w := m.push(p)
		if emit != "" {
			seen = append(seen, emit)
		}
		if s {
			return seen, true, w
		}
	}
	if rest := m.flush(); rest != "" {
		seen = append(seen, rest)
	}
	return seen, false, ""
}

func TestStopStringSplitAcrossPiecesIsNeverEmitted(t *testing.T) {
	seen, stopped, word := feed([]string{"</end>"}, []string{"Hello <", "/e", "nd> tail"})
	if !stopped || word != "</end>" {
		t.Fatalf("stopped=%v word=%q, want a stop on </end>", stopped, word)
	}
	if got := strings.Join(seen, ""); got != "Hello " {
		t.Fatalf("client saw %q, want %q", got, "Hello ")
	}
	for _, s := range seen {
		if strings.Contains(s, "<") {
			t.Fatalf("a chunk %q leaked the start of the stop string", s)
		}
	}
}

func TestPartialStopIsReleasedWhenItDoesNotComplete(t *testing.T) {
	seen, stopped, _ := feed([]string{"STOP"}, []string{"a ST", "ar", " end ST"})
	if stopped {
		t.Fatal("stopped without a complete stop string")
	}
	if got := strings.Join(seen, ""); got != "a STar end ST" {
		t.Fatalf("client saw %q, want all the text back", got)
	}
}

func TestEarliestStopWins(t *testing.T) {
	seen, stopped, word := feed([]string{"world", "lo"}, []string{"hello world"})
	if !stopped || word != "lo" || strings.Join(seen, "") != "hel" {
		t.Fatalf("stopped=%v word=%q seen=%q, want a stop on \"lo\" after \"hel\"", stopped, word, seen)
	}
}

// Every way of cutting the text into pieces must give the same visible text.
func TestStopMatchingIndependentOfPieceBoundaries(t *testing.T) {
	text := "abc<|im_end|>def"
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			seen, stopped, _ := feed([]string{"<|im_end|>"}, []string{text[:i], text[i:j], text[j:]})
			if !stopped || strings.Join(seen, "") != "abc" {
				t.Fatalf("cut at %d,%d: stopped=%v seen=%q", i, j, stopped, seen)
			}
		}
	}
}

func TestNoStopsReleasesEverythingAtOnce(t *testing.T) {
	m := stopMatcher{}
	if emit, stopped, _ := m.push("abc"); emit != "abc" || stopped {
		t.Fatalf("push = %q, %v", emit, stopped)
	}
}
