package gateway

import "bytes"

// modelRewriter puts the model id the client asked for in place of the one
// an upstream names in its answer: llama-server names the file it loaded
// (or its --alias), a fallback its own model, and a client that asked for
// an alias gets the id the alias stands for; none is what the client asked.
//
// It rewrites the string value of the answer's top-level "model" and, for
// the events of Anthropic's and the Responses API's streams, of
// "message.model" and "response.model" — no other field, wherever else the
// same name or value appears. It scans the JSON as it passes, read by
// read, without decoding or holding it: only a model value cut by a read
// is held back, and only while it still matches the requested id. An answer
// whose model is already the requested one is passed on as it came, without
// a copy. Bytes that are not a JSON object pass through untouched.
type modelRewriter struct {
	quoted []byte // the requested id as a JSON string, quotes included
	out    []byte // what feed returns when it changed something
	events []byte // what rewriteEvents returns when it changed something

	// delta is how many bytes the rewriting added (negative: removed) so far.
	delta int64
	// changed: some value was replaced.
	changed bool

	doc jsonCursor
}

// jsonCursor is where the scan stands in one JSON document.
type jsonCursor struct {
	started, done bool
	depth         int
	obj2          bool // the container at depth 2 is an object
	inString      bool
	escaped       bool
	str           stringKind
	wantKey       bool // the next string is a key of an object whose keys matter
	afterKey      bool // a key was read; its colon comes next
	wantValue     bool // the next token is the value of the key just read
	key1, key2    keyName
	keyBuf        [8]byte
	keyLen        int // bytes of the key read; past len(keyBuf) it names nothing we look for
	// The model value being read: how much of it matches quoted, and the
	// bytes held back while it matches and a read cut it.
	matched  int
	differs  bool
	tokenLen int
	held     []byte
}

type stringKind uint8

const (
	otherString stringKind = iota
	keyString
	modelString // a model value to rewrite
)

type keyName uint8

const (
	otherKey keyName = iota
	modelKey
	parentKey // "message" or "response": its "model" is rewritten too
)

// newModelRewriter rewrites to quoted, the requested id as a JSON string
// with its quotes.
func newModelRewriter(quoted []byte) *modelRewriter { return &modelRewriter{quoted: quoted} }

// feed takes the next bytes of the document and returns those to pass on,
// with whether they differ from p; the returned slice is valid until the
// next call.
func (r *modelRewriter) feed(p []byte) ([]byte, bool) {
	c := &r.doc
	if c.done {
		return p, false
	}
	var out []byte
	copied := false // out is in use: it holds what precedes from
	from := 0       // p[from:i] is still to pass on as it came
	flush := func(to int) {
		if !copied {
			out, copied = r.buffer(len(p)), true
		}
		out = append(out, p[from:to]...)
		from = to
	}
	tokenStart := -1 // the index in p where the model value began, if in p
	for i := 0; i < len(p) && !c.done; i++ {
		b := p[i]
		if c.inString {
			if c.str == otherString {
				// Most strings are nobody's model: jump to the next quote or backslash.
				if !c.escaped {
					j := stringStop(p[i:])
					if j < 0 {
						break
					}
					i += j
					b = p[i]
				}
			}
			if c.escaped {
				c.escaped = false
				c.noteStringByte(b, r.quoted)
				continue
			}
			switch b {
			case '\\':
				c.escaped = true
				c.noteStringByte(b, r.quoted)
				continue
			case '"':
			default:
				c.noteStringByte(b, r.quoted)
				continue
			}
			// The string ends.
			c.inString = false
			switch c.str {
			case keyString:
				c.endKey()
			case modelString:
				c.noteStringByte(b, r.quoted)
				same := !c.differs && c.matched == len(r.quoted)
				start := tokenStart
				if start < 0 {
					start = 0 // the value began in an earlier read and is held
				}
				switch {
				case same && tokenStart >= 0:
					// Unchanged and wholly in p: nothing to do.
				case same:
					// Unchanged, but held back: pass the held bytes on first.
					flush(0)
					out = append(out, c.held...)
				default:
					flush(start)
					out = append(out, r.quoted...)
					from = i + 1
					r.delta += int64(len(r.quoted) - c.tokenLen)
					r.changed = true
				}
				c.held = c.held[:0]
				tokenStart = -1
				// One model per document: the rest passes unscanned.
				c.done = true
			}
			continue
		}
		c.token(b, r.quoted)
		if c.inString && c.str == modelString {
			tokenStart = i
		}
		if !c.inString && (c.depth > 2 || (c.depth == 2 && !(c.obj2 && c.key1 == parentKey))) {
			// Inside a value whose keys do not matter: only the brackets
			// and strings that end it do.
			j := i + 1
			for j < len(p) && !deepStops[p[j]] {
				j++
			}
			if j == len(p) {
				break
			}
			i = j - 1
		}
	}
	if c.inString && c.str == modelString {
		// A read cut the model value: hold it back while it may still be
		// the requested id; once it differs it is replaced, and what was
		// read of it is dropped.
		start := max(tokenStart, 0)
		flush(start)
		if !c.differs {
			c.held = append(c.held, p[start:]...)
		} else {
			c.held = c.held[:0]
		}
		r.out = out
		return out, true
	}
	if !copied {
		return p, false
	}
	out = append(out, p[from:]...)
	r.out = out
	return out, true
}

// buffer is r.out emptied, with room for an answer of n bytes rewritten.
func (r *modelRewriter) buffer(n int) []byte {
	if need := n + len(r.quoted) + len(r.doc.held); cap(r.out) < need {
		r.out = make([]byte, 0, need)
	}
	return r.out[:0]
}

// deepStops are the bytes that matter inside a value whose keys do not:
// those that open or close a string or a container.
var deepStops = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// stringStop is the index of the first quote or backslash in p, -1 if none.
func stringStop(p []byte) int {
	q := bytes.IndexByte(p, '"')
	seg := p
	if q >= 0 {
		seg = p[:q]
	}
	if k := bytes.IndexByte(seg, '\\'); k >= 0 {
		return k
	}
	return q
}

// lineEnd is the index of the first CR or LF in p, len(p) if none.
func lineEnd(p []byte) int {
	n := bytes.IndexByte(p, '\n')
	seg := p
	if n >= 0 {
		seg = p[:n]
	} else {
		n = len(p)
	}
	if k := bytes.IndexByte(seg, '\r'); k >= 0 {
		return k
	}
	return n
}

// flush returns what is held back at the end of the answer: a model value
// the answer cut short, passed on as it came.
func (r *modelRewriter) flush() []byte {
	h := r.doc.held
	r.doc.held = nil
	return h
}

// reset starts a new document: the next event of a stream.
func (r *modelRewriter) reset() {
	held := r.doc.held[:0]
	r.doc = jsonCursor{held: held}
}

// noteStringByte counts one byte of the string being read.
func (c *jsonCursor) noteStringByte(b byte, quoted []byte) {
	switch c.str {
	case keyString:
		if c.keyLen < len(c.keyBuf) {
			c.keyBuf[c.keyLen] = b
		}
		c.keyLen++
	case modelString:
		c.tokenLen++
		if !c.differs && c.matched < len(quoted) && quoted[c.matched] == b {
			c.matched++
		} else {
			c.differs = true
		}
	}
}

// endKey names the key just read.
func (c *jsonCursor) endKey() {
	c.afterKey = true
	k := otherKey
	if c.keyLen <= len(c.keyBuf) {
		switch string(c.keyBuf[:c.keyLen]) {
		case "model":
			k = modelKey
		case "message", "response":
			if c.depth == 1 {
				k = parentKey
			}
		}
	}
	if c.depth == 1 {
		c.key1, c.key2 = k, otherKey
	} else {
		c.key2 = k
	}
}

// token moves the cursor over one byte outside strings.
func (c *jsonCursor) token(b byte, quoted []byte) {
	switch b {
	case ' ', '\t', '\n', '\r':
		return
	}
	if !c.started {
		c.started = true
		if b != '{' {
			c.done = true // not an object: nothing to rewrite
			return
		}
		c.depth, c.wantKey = 1, true
		return
	}
	valueOfParent := c.wantValue && c.depth == 1 && c.key1 == parentKey
	isModelValue := c.wantValue && (c.depth == 1 && c.key1 == modelKey ||
		c.depth == 2 && c.obj2 && c.key1 == parentKey && c.key2 == modelKey)
	c.wantValue = false
	switch b {
	case '"':
		c.inString, c.escaped = true, false
		switch {
		case c.wantKey:
			c.str, c.keyLen, c.wantKey = keyString, 0, false
		case isModelValue:
			c.str, c.matched, c.differs, c.tokenLen = modelString, 0, false, 0
			c.noteStringByte(b, quoted)
		default:
			c.str = otherString
		}
	case '{', '[':
		c.depth++
		if c.depth == 2 {
			c.obj2 = b == '{'
			c.wantKey = c.obj2 && valueOfParent
			if !valueOfParent {
				c.key1 = otherKey // its keys do not matter
			}
		} else {
			c.wantKey = false
		}
	case '}', ']':
		c.depth--
		c.wantKey = false
		if c.depth == 0 {
			c.done = true
		}
	case ',':
		c.wantKey = c.depth == 1 || (c.depth == 2 && c.obj2 && c.key1 == parentKey)
	case ':':
		c.wantValue, c.afterKey = c.afterKey, false
	}
}

// rewriteEvents rewrites the model in the JSON data of each event of p,
// whole events as the SSE framer passes them on; an event's data lines
// together are one document. It returns p itself when nothing changed.
func (r *modelRewriter) rewriteEvents(p []byte) []byte {
	out := r.events[:0]
	copied := false
	from := 0
	for i := 0; i < len(p); {
		end := i + lineEnd(p[i:])
		line := p[i:end]
		next := end
		if next < len(p) {
			if p[next] == '\r' && next+1 < len(p) && p[next+1] == '\n' {
				next++
			}
			next++
		}
		switch {
		case len(line) == 0:
			r.reset() // a blank line ends the event
		case bytes.HasPrefix(line, []byte("data:")):
			start := i + len("data:")
			if start < end && p[start] == ' ' {
				start++
			}
			res, changed := r.feed(p[start:end])
			if rest := r.flush(); len(rest) > 0 {
				// A data line ends inside the model value: not JSON after
				// all; it passes as it came.
				res, changed = append(res, rest...), true
			}
			if changed {
				out = append(out, p[from:start]...)
				out = append(out, res...)
				from, copied = end, true
			}
		}
		i = next
	}
	if !copied {
		return p
	}
	out = append(out, p[from:]...)
	r.events = out
	return out
}
