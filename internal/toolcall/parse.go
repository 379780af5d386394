package toolcall

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Call is one function call read from the model's output.
type Call struct {
	// ID is the id the model wrote for the call (Mistral's may), else empty: the caller assigns one.
	ID   string
	Name string
	// Arguments is a JSON object as the model wrote it, whitespace included, as llama-server and OpenAI
	// pass it on.
	Arguments string
}

// Message is the model's reply split into its text and its calls.
type Message struct {
	Content string
	Calls   []Call
}

// whitespace is what Parse trims from the start of the content.
const whitespace = " \t\r\n"

// Parse splits text, the model's whole output, into content and calls of tools in family f's format
// (the XML family reads the tools' schemas to type the arguments). Text that does not hold a well-formed
// call stays content, whole: a model may write a marker and then fail to follow it, and the client should
// see what it wrote. Leading whitespace is dropped from the content, as llama-server's parser does when
// tools are offered.
func Parse(f Family, tools []Tool, text string) Message {
	msg := parse(f, tools, text)
	msg.Content = strings.TrimLeft(msg.Content, whitespace)
	return msg
}

func parse(f Family, tools []Tool, text string) Message {
	var calls []Call
	var content string
	var ok bool
	switch f {
	case Hermes:
		content, calls, ok = parseHermes(text)
	case Llama3:
		content, calls, ok = parseLlama3(text)
	case Mistral:
		content, calls, ok = parseMistral(text)
	case QwenXML, QwenCoder:
		content, calls, ok = parseXML(f, tools, text)
	}
	if !ok || len(calls) == 0 {
		return Message{Content: text}
	}
	return Message{Content: content, Calls: calls}
}

// parseHermes reads <tool_call>{json}</tool_call> blocks; the text outside them is content. The last
// block may lack its closing tag when generation stopped right after the JSON. A block may hold several
// calls separated by commas, as llama-server's grammar writes parallel calls. An opening whose block is
// not well-formed is content, and reading goes on after it: under tool_choice "auto" only the opening
// followed by its line break starts llama-server's grammar, so a call may follow a stray opening.
func parseHermes(text string) (string, []Call, bool) {
	var content strings.Builder
	var calls []Call
	rest := text
	for {
		i := strings.Index(rest, hermesOpen)
		if i < 0 {
			content.WriteString(rest)
			return content.String(), calls, true
		}
		body, after, closed := strings.Cut(rest[i+len(hermesOpen):], hermesClose)
		block, ok := jsonObjects(body, "arguments", ",")
		if !ok || (!closed && strings.TrimSpace(body) == "") {
			content.WriteString(rest[:i+len(hermesOpen)])
			rest = rest[i+len(hermesOpen):]
			continue
		}
		content.WriteString(rest[:i])
		calls = append(calls, block...)
		rest = after
	}
}

// parseLlama3 reads calls written as JSON objects: after <|python_tag|> (content before it), or as the
// whole reply (<|python_tag|> is a control token in real Llama 3 vocabularies, which detokenizing leaves
// out). Several calls are separated by ";" or whitespace.
func parseLlama3(text string) (string, []Call, bool) {
	content, body := "", text
	if i := strings.Index(text, pythonTag); i >= 0 {
		content, body = text[:i], text[i+len(pythonTag):]
	} else if !strings.HasPrefix(strings.TrimSpace(text), "{") {
		return text, nil, true
	}
	calls, ok := jsonObjects(body, "parameters", ";")
	return content, calls, ok
}

// parseMistral reads [TOOL_CALLS] followed by a JSON array of calls; text before it is content. A reply
// that is only the array also counts: in real Mistral vocabularies [TOOL_CALLS] is a control token, which
// detokenizing leaves out. A comma before a call's closing brace is taken: llama-server's grammar writes
// one after the arguments when the model gives no id.
func parseMistral(text string) (string, []Call, bool) {
	content, body := "", text
	if i := strings.Index(text, mistralOpen); i >= 0 {
		content, body = text[:i], text[i+len(mistralOpen):]
	} else if !strings.HasPrefix(strings.TrimSpace(text), "[") {
		return text, nil, true
	}
	var raw []json.RawMessage
	body = dropTrailingCommas(body)
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&raw); err != nil || strings.TrimSpace(body[dec.InputOffset():]) != "" {
		return "", nil, false
	}
	calls := make([]Call, 0, len(raw))
	for _, r := range raw {
		c, ok := callFromJSON(string(r), "arguments")
		if !ok {
			return "", nil, false
		}
		calls = append(calls, c)
	}
	return content, calls, true
}

// jsonObjects reads one or more call objects from s, separated by whitespace or a separator.
func jsonObjects(s, argsKey, separator string) ([]Call, bool) {
	var calls []Call
	for {
		s = strings.TrimLeft(s, whitespace+separator)
		if s == "" {
			return calls, len(calls) > 0
		}
		dec := json.NewDecoder(strings.NewReader(s))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		c, ok := callFromJSON(string(raw), argsKey)
		if !ok {
			return nil, false
		}
		calls = append(calls, c)
		s = s[dec.InputOffset():]
	}
}

// callFromJSON reads {"name": ..., argsKey: {...}} (also accepting "arguments" for argsKey, and
// arguments given as a JSON string holding the object).
func callFromJSON(s, argsKey string) (Call, bool) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return Call{}, false
	}
	var c Call
	if err := json.Unmarshal(obj["name"], &c.Name); err != nil || c.Name == "" {
		return Call{}, false
	}
	if id, ok := obj["id"]; ok {
		_ = json.Unmarshal(id, &c.ID)
	}
	args, ok := obj[argsKey]
	if !ok {
		args, ok = obj["arguments"]
	}
	if !ok {
		args = json.RawMessage("{}")
	}
	var str string
	if json.Unmarshal(args, &str) == nil {
		args = json.RawMessage(str)
	}
	args = bytes.TrimSpace(args)
	if !json.Valid(args) || !bytes.HasPrefix(args, []byte("{")) {
		return Call{}, false
	}
	c.Arguments = string(args)
	return c, true
}

// jsonEscape is s as the inside of a JSON string.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// dropTrailingCommas removes each comma that only whitespace separates from the closing brace or bracket
// after it, outside strings. No JSON text has such a comma, so valid JSON is left as it is.
func dropTrailingCommas(s string) string {
	var b strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ',':
			if j := i + 1 + len(s[i+1:]) - len(strings.TrimLeft(s[i+1:], whitespace)); j < len(s) && (s[j] == '}' || s[j] == ']') {
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
