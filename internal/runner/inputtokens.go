package runner

import "net/http"

// handleChatInputTokens serves POST /v1/chat/completions/input_tokens: the length of the prompt a chat
// request would give the model, through the same template, tools included, without generating.
func (s *Server) handleChatInputTokens(w http.ResponseWriter, r *http.Request, e *engine) {
	text, apiErr := s.promptOfChatRequest(w, r, e)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	prompt, apiErr := e.tokenizeText(text)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "response.input_tokens", "input_tokens": len(prompt)})
}
