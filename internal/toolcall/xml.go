package toolcall

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The XML family writes each call in a block of its own, a tag per line:
//
//	<tool_call>
//	<function=get_weather>
//	<parameter=city>
//	Paris
//	</parameter>
//	</function>
//	</tool_call>
//
// A value is the raw text between its tags when the parameter's schema allows only strings, and JSON when
// it allows no string; when it allows both, JSON is read first and the text is the fallback, as
// llama-server's parser types it. The call's arguments are the JSON object of its parameters in the order
// written: {"city":"Paris"}.
const (
	xmlFunctionOpen   = "<function="
	xmlFunctionClose  = "</function>"
	xmlParameterOpen  = "<parameter="
	xmlParameterClose = "</parameter>"
	// xmlValueEnd ends every value: a line break, the closing tag and a line break.
	xmlValueEnd = "\n" + xmlParameterClose + "\n"
)

// parseXML reads the XML family's call blocks; the text outside them is content. Under QwenCoder the
// first call may open with <function=NAME> of one of the tools alone, its <tool_call> left out. The
// last block may lack its closing </tool_call> when generation stopped at it. An opening whose block is
// not well-formed is content, and reading goes on after it.
func parseXML(f Family, tools []Tool, text string) (string, []Call, bool) {
	params := map[string][]xmlParam{}
	for _, t := range tools {
		params[t.Name] = xmlParams(t.Parameters)
	}
	var content strings.Builder
	var calls []Call
	rest := text
	for {
		i, bare := nextXMLCall(f, tools, rest, len(calls) == 0)
		if i < 0 {
			content.WriteString(rest)
			return content.String(), calls, true
		}
		body := rest[i:]
		if !bare {
			body = body[len(hermesOpen):]
		}
		call, after, ok := readXMLCall(body, params)
		if !ok {
			skip := i + len(hermesOpen)
			if bare {
				skip = i + len(xmlFunctionOpen)
			}
			content.WriteString(rest[:skip])
			rest = rest[skip:]
			continue
		}
		content.WriteString(rest[:i])
		calls = append(calls, call)
		rest = after
	}
}

// nextXMLCall is where the next call opens in s (-1: none), and whether it opens bare, with <function=NAME>
// of one of tools and no <tool_call>: only QwenCoder's first call may.
func nextXMLCall(f Family, tools []Tool, s string, first bool) (int, bool) {
	at := strings.Index(s, hermesOpen)
	if f != QwenCoder || !first {
		return at, false
	}
	bare := false
	for _, t := range tools {
		if j := strings.Index(s, xmlFunctionOpen+t.Name+">"); j >= 0 && (at < 0 || j < at) {
			at, bare = j, true
		}
	}
	return at, bare
}

// readXMLCall reads one call from s, which follows its <tool_call> (or starts with <function= when the
// opening was left out): the function, its parameters, </function>, and </tool_call> unless s ends
// first. It returns the call and the text after it.
func readXMLCall(s string, params map[string][]xmlParam) (Call, string, bool) {
	name, rest, ok := openingTag(strings.TrimLeft(s, whitespace), xmlFunctionOpen)
	if !ok {
		return Call{}, "", false
	}
	declared := params[name]
	var args strings.Builder
	args.WriteByte('{')
	for n := 0; ; n++ {
		rest = strings.TrimLeft(rest, whitespace)
		if after, closed := strings.CutPrefix(rest, xmlFunctionClose); closed {
			rest = after
			break
		}
		key, after, ok := openingTag(rest, xmlParameterOpen)
		if !ok {
			return Call{}, "", false
		}
		value, after, ok := cutValue(after)
		if !ok {
			return Call{}, "", false
		}
		if n > 0 {
			args.WriteByte(',')
		}
		args.WriteString(jsonString(key) + ":" + xmlValue(paramNamed(declared, key), value))
		rest = after
	}
	args.WriteByte('}')
	rest = strings.TrimLeft(rest, whitespace)
	if after, closed := strings.CutPrefix(rest, hermesClose); closed {
		rest = after
	} else if rest != "" && !strings.HasPrefix(rest, hermesOpen) {
		return Call{}, "", false
	}
	return Call{Name: name, Arguments: args.String()}, rest, true
}

// openingTag reads a tag that opens s, <function=NAME> or <parameter=NAME> by its prefix, and returns
// the name and the text after the tag. A name holds no line break or '<'.
func openingTag(s, prefix string) (name, rest string, ok bool) {
	rest, ok = strings.CutPrefix(s, prefix)
	if !ok {
		return "", "", false
	}
	name, rest, ok = strings.Cut(rest, ">")
	if !ok || name == "" || strings.ContainsAny(name, "<\n") {
		return "", "", false
	}
	return name, rest, true
}

// paramNamed is the declared parameter named key; one the schema does not declare allows any value.
func paramNamed(declared []xmlParam, key string) xmlParam {
	for _, p := range declared {
		if p.name == key {
			return p
		}
	}
	return xmlParam{name: key, types: allTypes}
}

// cutValue reads a parameter's value from s, which follows its opening tag, up to "\n</parameter>\n" as
// the grammar writes it (or "\n</parameter>" at the end of the reply), so that a value may hold the text
// "</parameter>"; a reply written without the line breaks ends the value at the first closing tag. The
// line break after the opening tag is not part of the value.
func cutValue(s string) (value, rest string, ok bool) {
	s = strings.TrimPrefix(s, "\n")
	if i := strings.Index(s, xmlValueEnd); i >= 0 {
		return s[:i], s[i+len(xmlValueEnd):], true
	}
	if v, cut := strings.CutSuffix(s, "\n"+xmlParameterClose); cut {
		return v, "", true
	}
	value, rest, ok = strings.Cut(s, xmlParameterClose)
	return strings.TrimSuffix(value, "\n"), rest, ok
}

// xmlValue is a parameter's value as JSON: the text as a string when the parameter allows only strings,
// else the text when it is JSON (with no space around it, as llama-server's parser reads it) of a type the
// parameter allows besides strings, a number of either kind where it allows numbers, else the text as a
// string.
func xmlValue(p xmlParam, text string) string {
	if p.stringOnly() || !json.Valid([]byte(text)) || strings.TrimSpace(text) != text {
		return jsonString(text)
	}
	allowed := p.types &^ typeString
	if allowed&(typeNumber|typeInteger) != 0 {
		allowed |= typeNumber | typeInteger
	}
	if p.noString() || jsonType(json.RawMessage(text))&allowed != 0 {
		return text
	}
	return jsonString(text)
}

// jsonString is s as a JSON string, with <, > and & as they are (they are common in code, which Qwen3-Coder
// writes).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
