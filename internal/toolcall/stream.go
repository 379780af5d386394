package toolcall

import "strings"

// Streamer splits a reply that arrives piece by piece: text that cannot be part of a tool call is
// released as content at once, and from the first sign of a call on, text is held until the end, when
// Finish parses it. Leading whitespace is never released, as Parse drops it.
type Streamer struct {
	family Family
	tools  []Tool
	text   strings.Builder
	// start is where the content begins, after the leading whitespace; released is how far it went out.
	start, released int
	begun, holding  bool
}

// NewStreamer starts a reply of calls of tools in family f's format.
func NewStreamer(f Family, tools []Tool) *Streamer { return &Streamer{family: f, tools: tools} }

// Feed adds a piece of the reply and returns the content that can be shown now (maybe "").
func (s *Streamer) Feed(piece string) string {
	s.text.WriteString(piece)
	if s.holding {
		return ""
	}
	all := s.text.String()
	if !s.begun {
		// Only the new text needs looking at: what came before was all whitespace.
		s.start = len(all) - len(strings.TrimLeft(all[s.start:], whitespace))
		if s.start == len(all) {
			return ""
		}
		s.begun, s.released = true, s.start
	}
	end, hold := s.safeEnd(all)
	s.holding = hold
	out := all[s.released:end]
	s.released = end
	return out
}

// Finish parses the whole reply. The message's content is all of it; rest is the part of the content
// Feed has not released yet.
func (s *Streamer) Finish() (msg Message, rest string) {
	all := s.text.String()
	msg = Parse(s.family, s.tools, all)
	released := ""
	if s.begun {
		released = all[s.start:s.released]
	}
	if strings.HasPrefix(msg.Content, released) {
		rest = msg.Content[len(released):]
	}
	return msg, rest
}

// safeEnd is how much of all can be released as content, and whether a call has begun (so nothing more
// will be until the end).
func (s *Streamer) safeEnd(all string) (int, bool) {
	var markers []string
	switch s.family {
	case Hermes, QwenXML:
		markers = []string{hermesOpen}
	case QwenCoder:
		// The bare <function= of a call whose <tool_call> was left out.
		markers = []string{hermesOpen, xmlFunctionOpen}
	case Mistral:
		markers = []string{mistralOpen}
	case Llama3:
		markers = []string{pythonTag}
	default:
		return len(all), false
	}
	// A reply that opens with its family's bare JSON ("{" for Llama 3, "[" for Mistral) may be a call
	// whose marker was a control token; one that opens with anything else is not.
	if bare := bareOpen(s.family); bare != 0 && s.released == s.start && all[s.start] == bare {
		return s.start, true
	}
	for _, m := range markers {
		if i := strings.Index(all[s.released:], m); i >= 0 {
			return s.released + i, true
		}
	}
	// Hold back a tail that may be the start of a marker cut between two pieces.
	end := len(all)
	for _, m := range markers {
		for n := min(len(m)-1, len(all)-s.released); n > 0; n-- {
			if strings.HasSuffix(all, m[:n]) {
				end = min(end, len(all)-n)
				break
			}
		}
	}
	return end, false
}

// bareOpen is the first character of a call written without its marker, or 0 for a family that always
// writes the marker.
func bareOpen(f Family) byte {
	switch f {
	case Llama3:
		return '{'
	case Mistral:
		return '['
	}
	return 0
}
