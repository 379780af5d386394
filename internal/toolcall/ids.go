package toolcall

import "crypto/rand"

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewCallID makes an id for a call the model wrote without one: 32 letters and digits as llama-server's,
// or 9 for Mistral, whose templates refuse any other length when the call comes back in the history.
func NewCallID(f Family) string {
	n := 32
	if f == Mistral {
		n = 9
	}
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// Prefill is the start of a tool call the prompt ends with, to make the model call a tool: any tool
// when name is "", else that one. It is the family's opening marker and the call's first JSON
// characters; the model's output continues it, so Parse must see Prefill + output.
func Prefill(f Family, name string) string {
	open := `{"name": "`
	if name != "" {
		open += jsonEscape(name) + `", ` + argsKey(f) + `: `
	}
	switch f {
	case QwenXML, QwenCoder:
		if name == "" {
			return Opening(f) + xmlFunctionOpen
		}
		return Opening(f) + xmlFunctionOpen + name + ">\n"
	case Hermes, Llama3:
		return Opening(f) + open
	case Mistral:
		return Opening(f) + "[" + open
	}
	return ""
}

func argsKey(f Family) string {
	if f == Llama3 {
		return `"parameters"`
	}
	return `"arguments"`
}
