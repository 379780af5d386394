package apierror

import "net/http"

// Envelope is the JSON shape an error is written in.
type Envelope uint8

const (
	// OpenAI is {"error":{"message","type","code"}}: every route but
	// Anthropic's.
	OpenAI Envelope = iota
	// Anthropic is {"type":"error","error":{"type","message","code"}}: the
	// shape Anthropic's clients parse, for the Anthropic Messages routes.
	// The error's type is Anthropic's name for it; code is custos's own,
	// kept so an answer means the same whichever route gave it.
	Anthropic
)

// anthropicBody is the Anthropic envelope.
type anthropicBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Code    string `json:"code,omitempty"`
	} `json:"error"`
}

func (e Error) anthropic() anthropicBody {
	var b anthropicBody
	b.Type = "error"
	b.Error.Type, b.Error.Message, b.Error.Code = AnthropicType(e), e.Message, e.Code
	return b
}

// AnthropicType is Anthropic's error type for e: Anthropic names some
// errors by their status (not_found_error, request_too_large) and others
// differently from OpenAI (api_error, overloaded_error).
func AnthropicType(e Error) string {
	switch {
	case e.Status == http.StatusNotFound:
		return "not_found_error"
	case e.Status == http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case e.Type == TypeServer:
		return "api_error"
	case e.Type == TypeUnavailable:
		return "overloaded_error"
	}
	return e.Type
}
