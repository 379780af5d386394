package gateway

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"custos/internal/apierror"
)

// inference is what the gateway needs from a request: the route it came
// by, the model its body names, whether it streams, and where the model
// value lies so the fallback can rename it without re-encoding the whole
// body, and the answer can name it as the client did.
type inference struct {
	route      *route
	body       []byte
	model      string
	modelStart int // byte span of the model's JSON string in body
	modelEnd   int
	stream     bool
}

// parseInference validates the body as one JSON object and picks out its
// top-level model field (the route's modelField) and "stream". A second
// model key is refused: which one a backend would honour is not defined.
func parseInference(body []byte, rt *route) (inference, *apierror.Error) {
	in := inference{route: rt, body: body}
	field := rt.modelField
	if !utf8.Valid(body) {
		e := apierror.BadRequest("invalid_json", "the request body is not valid UTF-8")
		return in, &e
	}
	if !json.Valid(body) {
		e := apierror.BadRequest("invalid_json", "the request body is not valid JSON")
		return in, &e
	}
	s := scanner{b: body}
	s.space()
	if !s.consume('{') {
		e := apierror.BadRequest("invalid_json", "the request body must be a JSON object")
		return in, &e
	}
	seenModel := false
	for {
		s.space()
		if s.consume('}') {
			break
		}
		s.consume(',')
		s.space()
		keyStart := s.i
		s.skipString()
		key := body[keyStart:s.i]
		s.space()
		s.consume(':')
		s.space()
		valStart := s.i
		s.skipValue()
		val := body[valStart:s.i]
		switch {
		case keyIs(key, field):
			if seenModel {
				e := apierror.BadRequest("duplicate_model", `the request body has more than one "`+field+`"`)
				return in, &e
			}
			seenModel = true
			if len(val) == 0 || val[0] != '"' || json.Unmarshal(val, &in.model) != nil {
				e := apierror.BadRequest("invalid_model", `"`+field+`" must be a string`)
				return in, &e
			}
			in.modelStart, in.modelEnd = valStart, s.i
		case keyIs(key, "stream"):
			switch string(val) {
			case "true":
				in.stream = true
			case "false", "null":
				in.stream = false
			default:
				e := apierror.BadRequest("invalid_stream", `"stream" must be true or false`)
				return in, &e
			}
		}
	}
	if !seenModel || in.model == "" {
		e := apierror.BadRequest("missing_model", `the request body must name a "`+field+`"`)
		return in, &e
	}
	return in, nil
}

// keyIs compares a JSON string token with a name, decoding escapes only
// when there are any.
func keyIs(token []byte, name string) bool {
	if bytes.IndexByte(token, '\\') < 0 {
		return len(token) == len(name)+2 && string(token[1:len(token)-1]) == name
	}
	var k string
	return json.Unmarshal(token, &k) == nil && k == name
}

// requestedModel is the model as the client's body names it: a JSON
// string, quotes included, as the answer is to name it.
func (in inference) requestedModel() []byte { return in.body[in.modelStart:in.modelEnd] }

// withModel returns the body with the model value replaced.
func (in inference) withModel(name string) []byte {
	quoted, _ := json.Marshal(name)
	out := make([]byte, 0, len(in.body)-(in.modelEnd-in.modelStart)+len(quoted))
	out = append(out, in.body[:in.modelStart]...)
	out = append(out, quoted...)
	return append(out, in.body[in.modelEnd:]...)
}

// scanner walks JSON already known to be valid, so it only has to find
// where each token ends.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) skipString() {
	s.i++ // opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return
		default:
			s.i++
		}
	}
}

func (s *scanner) skipValue() {
	if s.i >= len(s.b) {
		return
	}
	switch s.b[s.i] {
	case '"':
		s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return
				}
			}
			s.i++
		}
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}
