package runner

import (
	"strings"

	"custos/internal/llama"
)

// conversationPrompt formats a plain conversation (no tools) the way chat does, through the model's chat
// template, and tokenizes it: the one place where the endpoints translated to chat (/v1/responses,
// /v1/messages and its count_tokens) turn messages into prompt tokens, so they render exactly as chat does.
func (e *engine) conversationPrompt(msgs []llama.ChatMessage) ([]llama.Token, *apiError) {
	req := chatRequest{Messages: make([]chatMessage, len(msgs))}
	for i, m := range msgs {
		req.Messages[i] = chatMessage{Role: m.Role, Content: messageContent(m.Content)}
	}
	text, _, apiErr := e.chatPrompt(&req, msgs)
	if apiErr != nil {
		return nil, apiErr
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
