package runner

import "strings"

// indentGate implements n_indent, for code completion: from the second line on, a line indented by fewer
// than min spaces or tabs ends generation, and that line is not sent. While a line's start is only
// indentation, it is held back until the line shows how deep it is. As in llama-server an empty line
// counts as indented by 0, and the first line is never checked.
type indentGate struct {
	min int
	// lineStart is true while the current line, after a new line, has had only spaces and tabs; held are
	// those.
	lineStart bool
	held      string
}

// push passes generated text through the gate. It returns the text to release and, when a line came out
// too shallow, cut: the text from that line's start on is dropped.
func (g *indentGate) push(text string) (emit string, cut bool) {
	if g.min <= 0 {
		return text, false
	}
	var out strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		if g.lineStart {
			if c == ' ' || c == '\t' {
				g.held += string(c)
				continue
			}
			if len(g.held) < g.min {
				g.held, g.lineStart = "", false
				return out.String(), true
			}
			out.WriteString(g.held)
			g.held, g.lineStart = "", false
		}
		out.WriteByte(c)
		if c == '\n' {
			g.lineStart = true
		}
	}
	return out.String(), false
}

// flush releases the indentation held when generation ends for another reason.
func (g *indentGate) flush() string {
	s := g.held
	g.held = ""
	return s
}
