package runner

import "strings"

// stopMatcher cuts generated text at the first stop string. While text arrives piece by piece it holds back
// the longest tail that could still grow into a stop string, so a client never sees any part of the stop
// text, streaming or not.
type stopMatcher struct {
	stops []string
	held  string // text generated but not yet released
}

// push adds generated text. It returns the text safe to release now; when a stop string completed, stopped is
// true, word is that stop string, and emit ends just before it (the matcher then holds nothing).
func (m *stopMatcher) push(text string) (emit string, stopped bool, word string) {
	m.held += text
	if at, w := firstStop(m.held, m.stops); at >= 0 {
		emit, m.held = m.held[:at], ""
		return emit, true, w
	}
	keep := longestPartialStop(m.held, m.stops)
	emit, m.held = m.held[:len(m.held)-keep], m.held[len(m.held)-keep:]
	return emit, false, ""
}

// flush releases the held-back text when generation ends for another reason than a stop string.
func (m *stopMatcher) flush() string {
	s := m.held
	m.held = ""
	return s
}

// firstStop returns the earliest position in text where any stop string starts, and that string; -1 if none.
// At equal positions the longer stop wins, so the whole of it is cut.
func firstStop(text string, stops []string) (int, string) {
	at, word := -1, ""
	for _, s := range stops {
		if s == "" {
			continue
		}
		i := strings.Index(text, s)
		if i >= 0 && (at < 0 || i < at || (i == at && len(s) > len(word))) {
			at, word = i, s
		}
	}
	return at, word
}

// longestPartialStop is the length of the longest suffix of text that is a proper prefix of a stop string:
// the text that must wait for more tokens before it can be released.
func longestPartialStop(text string, stops []string) int {
	best := 0
	for _, s := range stops {
		for n := min(len(s)-1, len(text)); n > best; n-- {
			if strings.HasSuffix(text, s[:n]) {
				best = n
				break
			}
		}
	}
	return best
}
