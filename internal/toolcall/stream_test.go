package toolcall

import (
	"strings"
	"testing"
)

// feed streams text to a Streamer in pieces of n bytes and returns what it released as content along
// the way, and the parsed message with the content released at the end.
func feed(f Family, tools []Tool, text string, n int) (streamed string, msg Message, rest string) {
	s := NewStreamer(f, tools)
	var b strings.Builder
	for i := 0; i < len(text); i += n {
		b.WriteString(s.Feed(text[i:min(i+n, len(text))]))
	}
	msg, rest = s.Finish()
	return b.String(), msg, rest
}

func TestStreamReleasesTextBeforeTheCall(t *testing.T) {
	text := "Let me check <b>.\n<tool_call>\n{\"name\": \"get_time\"}\n</tool_call>"
	for n := 1; n <= len(text); n++ {
		streamed, msg, rest := feed(Hermes, nil, text, n)
		if streamed+rest != "Let me check <b>.\n" || len(msg.Calls) != 1 {
			t.Fatalf("pieces of %d: streamed %q, rest %q, calls %+v", n, streamed, rest, msg.Calls)
		}
		if strings.Contains(streamed, "<tool") {
			t.Fatalf("pieces of %d: streamed part of the marker: %q", n, streamed)
		}
	}
}

func TestStreamBrokenCallComesOutAsContent(t *testing.T) {
	text := "A [TOOL_CALLS][{\"name\": oops"
	for n := 1; n <= len(text); n++ {
		streamed, msg, rest := feed(Mistral, nil, text, n)
		if streamed+rest != text || len(msg.Calls) != 0 {
			t.Fatalf("pieces of %d: streamed %q, rest %q, calls %+v", n, streamed, rest, msg.Calls)
		}
	}
}

func TestStreamLlama3BareJSONIsHeld(t *testing.T) {
	text := ` {"name": "get_time", "parameters": {}}`
	streamed, msg, rest := feed(Llama3, nil, text, 3)
	if streamed != "" || rest != "" || len(msg.Calls) != 1 {
		t.Errorf("streamed %q, rest %q, calls %+v", streamed, rest, msg.Calls)
	}
	streamed, msg, rest = feed(Llama3, nil, "Plain {text}", 2)
	if streamed != "Plain {text}" || rest != "" || len(msg.Calls) != 0 {
		t.Errorf("plain text: streamed %q, rest %q, calls %+v", streamed, rest, msg.Calls)
	}
}

func TestStreamWithoutFamilyReleasesEverything(t *testing.T) {
	streamed, msg, rest := feed(None, nil, "<tool_call>x", 4)
	if streamed != "<tool_call>x" || rest != "" || msg.Content != "<tool_call>x" {
		t.Errorf("streamed %q, rest %q, msg %+v", streamed, rest, msg)
	}
}

func TestStreamDropsLeadingWhitespace(t *testing.T) {
	text := " \n Hi <tool_call>{\"name\": \"f\"}</tool_call>"
	for n := 1; n <= len(text); n++ {
		streamed, msg, rest := feed(Hermes, nil, text, n)
		if streamed+rest != "Hi " || msg.Content != "Hi " || len(msg.Calls) != 1 {
			t.Fatalf("pieces of %d: streamed %q, rest %q, message %+v", n, streamed, rest, msg)
		}
	}
	streamed, msg, rest := feed(Hermes, nil, "  ", 1)
	if streamed != "" || rest != "" || msg.Content != "" {
		t.Errorf("whitespace only: streamed %q, rest %q, message %+v", streamed, rest, msg)
	}
}
