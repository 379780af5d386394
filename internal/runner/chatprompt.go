package runner

import (
	"strings"

	"custos/internal/llama"
)

// chatPrompt formats a conversation with the model's chat template and tokenizes it: the one place where the
// endpoints translated to chat (/v1/responses, /v1/messages and its count_tokens) turn messages into prompt
// tokens, so that a change of template engine changes them all.
func (e *engine) chatPrompt(msgs []llama.ChatMessage) ([]llama.Token, *apiError) {
	text, err := llama.ApplyChatTemplate(e.chatTemplate, msgs, true)
	if err != nil {
		return nil, serverError(err)
	}
	return e.tokenizeText(text)
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
