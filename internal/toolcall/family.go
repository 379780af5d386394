// Package toolcall knows the tool-call formats of the common chat template families: which one a model's
// template uses (from its text, as llama.cpp recognises them), and how to read the calls back out of the
// text the model generates. It is pure: strings in, strings out.
package toolcall

import "strings"

// Family is a tool-call format.
type Family string

const (
	// None is a template with no tool-call format this package knows.
	None Family = ""
	// Hermes is Hermes 2 Pro / Qwen 2.5 / Qwen 3: <tool_call>{"name":..., "arguments":...}</tool_call>.
	Hermes Family = "hermes"
	// Llama3 is Llama 3.1 / 3.2 / 3.3: a {"name":..., "parameters":...} JSON object as the whole reply,
	// or after <|python_tag|>.
	Llama3 Family = "llama3"
	// Mistral is Mistral v3 / Nemo: [TOOL_CALLS][{"name":..., "arguments":...}, ...].
	Mistral Family = "mistral"
	// QwenXML is the XML calls of Qwen3.5 and Nemotron 3 Nano, thinking templates:
	// <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n</function>\n</tool_call>.
	QwenXML Family = "qwen-xml"
	// QwenCoder is the same XML calls in Qwen3-Coder's template, which does not think and whose models
	// sometimes leave out the <tool_call> before a call's <function=NAME>.
	QwenCoder Family = "qwen3-coder"
)

// Markers the families open a tool call with.
const (
	hermesOpen  = "<tool_call>"
	hermesClose = "</tool_call>"
	pythonTag   = "<|python_tag|>"
	mistralOpen = "[TOOL_CALLS]"
)

// Detect names the tool-call format of a chat template from its text. Templates whose calls look like
// a known family's but are written differently (the [ARGS] form of newer Mistral models, XML calls
// without line breaks between their tags) are None: their calls would be misread.
func Detect(template string) Family {
	has := func(s string) bool { return strings.Contains(template, s) }
	switch {
	case has(hermesOpen) && has(xmlFunctionOpen) && has(xmlParameterOpen):
		// As llama-server's test for its Qwen3-Coder parser, which it also uses for Qwen3.5, Nemotron 3 Nano
		// and StepFun 3.5.
		if has("'<tool_call><function=' ~ tool_call.name ~ '>'") {
			return None
		}
		if has("<think>") {
			return QwenXML
		}
		return QwenCoder
	case has(mistralOpen) && !has("[ARGS]"):
		return Mistral
	case has(hermesOpen) && !has("<function=") && !has("<invoke name="):
		return Hermes
	case has("<|start_header_id|>") && (has("ipython") || has(pythonTag)):
		return Llama3
	}
	return None
}

// EndsReasoning is the marker of f's calls that also ends a reasoning the model left open, as
// llama-server's parser for Qwen3.5 and Nemotron 3 Nano reads their replies: <tool_call>. Other families
// have none (Qwen3-Coder does not reason): "".
func EndsReasoning(f Family) string {
	if f == QwenXML {
		return hermesOpen
	}
	return ""
}

// String is the family's name, for messages.
func (f Family) String() string {
	if f == None {
		return "none"
	}
	return string(f)
}
