package runner

import (
	"strings"

	"custos/internal/llama"
)

// translatedPrompt renders a request that another API's endpoint translated to chat (/v1/responses,
// /v1/messages and its count_tokens) exactly as chat renders it, tools and tool_choice included, and
// tokenizes it: the one place where those endpoints become prompt tokens. The reply format says how to
// read the model's output back; a thinking model's reasoning is read out of it as the server's
// --reasoning-format says, as llama-server reads it on those endpoints.
func (e *engine) translatedPrompt(req *chatRequest) ([]llama.Token, *replyFormat, *apiError) {
	msgs, apiErr := chatMessages(req.Messages)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	text, reply, apiErr := e.chatPrompt(req, msgs)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	prompt, apiErr := e.tokenizeText(text)
	return prompt, reply, apiErr
}

// joinTextParts joins the text parts of one message as llama-server does before templating: one newline
// between parts.
func joinTextParts(parts []string) string { return strings.Join(parts, "\n") }

// unsupportedField is the 400 for a field that the API documents and this server does not implement.
func unsupportedField(field, why string) *apiError {
	msg := "\"" + field + "\" is not supported by this server"
	if why != "" {
		msg += ": " + why
	}
	return badRequest("%s", msg)
}
