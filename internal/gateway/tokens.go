package gateway

import "bytes"

// tokenCounter counts the completion tokens of an answer as it passes to
// the client, for the live figures (package livestats), without decoding
// or holding it:
//
//   - a figure the answer states is taken: the last "completion_tokens"
//     (OpenAI's usage) or "output_tokens" (Anthropic's and the Responses
//     API's) found in a JSON body or an event stream;
//   - an event stream without one counts its content-bearing events: each
//     data line with a non-empty "content", "text", "delta", "arguments",
//     "partial_json" or "reasoning_content" string — what llama-server and
//     the runner send per token (a few tokens merged into one event, as a
//     multi-byte character is, count once).
//
// It costs one search of the bytes already in hand per read and allocates
// nothing.
type tokenCounter struct {
	events int
	stated int // the last figure stated; -1: none
	// tail is the end of the previous read of a JSON body, so a figure a
	// read cut in two is still found.
	tail    [tailSize]byte
	tailLen int
}

// tailSize covers `"completion_tokens": ` and a long number.
const tailSize = 40

func newTokenCounter() tokenCounter { return tokenCounter{stated: -1} }

// tokens is the count so far.
func (c *tokenCounter) tokens() int {
	if c.stated >= 0 {
		return c.stated
	}
	return c.events
}

// events takes whole events of a stream (the framer's output).
func (c *tokenCounter) sseEvents(p []byte) {
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if !bytes.HasPrefix(line, dataPrefix) {
			continue
		}
		if n, ok := statedTokens(line); ok {
			c.stated = n
		}
		if bearsContent(line) {
			c.events++
		}
	}
}

// jsonBody takes the next read of a JSON answer.
func (c *tokenCounter) jsonBody(p []byte) {
	if c.tailLen > 0 {
		// Only a figure that straddles the two reads is looked for here.
		var joint [2 * tailSize]byte
		n := copy(joint[:], c.tail[:c.tailLen])
		n += copy(joint[n:], p[:min(len(p), tailSize)])
		if v, ok := statedTokens(joint[:n]); ok {
			c.stated = v
		}
	}
	if v, ok := statedTokens(p); ok {
		c.stated = v
	}
	c.tailLen = copy(c.tail[:], p[max(len(p)-tailSize, 0):])
}

var (
	dataPrefix  = []byte("data:")
	tokensKey   = []byte(`_tokens"`)
	stringValue = []byte(`":"`)
)

// statedTokens returns the last completion_tokens or output_tokens
// figure in b.
func statedTokens(b []byte) (int, bool) {
	found, value := false, 0
	for rest, at := b, 0; ; {
		i := bytes.Index(rest, tokensKey)
		if i < 0 {
			return value, found
		}
		end := at + i // where "_tokens" begins in b
		rest, at = rest[i+len(tokensKey):], end+len(tokensKey)
		if !hasSuffix(b[:end], `"completion`) && !hasSuffix(b[:end], `"output`) {
			continue
		}
		if n, ok := leadingNumber(rest); ok {
			found, value = true, n
		}
	}
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// leadingNumber reads `: 123` at the start of b.
func leadingNumber(b []byte) (int, bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == ':') {
		i++
	}
	start, n := i, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 12; i++ {
		n = n*10 + int(b[i]-'0')
	}
	return n, i > start
}

// bearsContent reports whether an event's data line carries generated
// text: a non-empty string under one of the keys that hold it.
func bearsContent(line []byte) bool {
	for rest, at := line, 0; ; {
		i := bytes.Index(rest, stringValue)
		if i < 0 {
			return false
		}
		colon := at + i // the quote that closes the key
		rest, at = rest[i+len(stringValue):], colon+len(stringValue)
		if len(rest) == 0 || rest[0] == '"' {
			continue // an empty string
		}
		open := bytes.LastIndexByte(line[:colon], '"')
		if open < 0 || (colon > 0 && line[colon-1] == '\\') {
			continue
		}
		switch string(line[open+1 : colon]) {
		case "content", "text", "delta", "arguments", "partial_json", "reasoning_content":
			return true
		}
	}
}
