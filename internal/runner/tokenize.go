package runner

import (
	"net/http"
	"unicode/utf8"

	"custos/internal/llama"
)

// handleTokenize serves POST /tokenize: {"content": text} → {"tokens": [...]}, with each token's piece when
// "with_pieces" is set (as a string, or as bytes when the piece is not valid UTF-8 on its own).
func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request, e *engine) {
	var req tokenizeRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	toks, err := e.model.Tokenize(req.Content, req.AddSpecial, true)
	if err != nil {
		writeError(w, badRequest("tokenize: %v", err))
		return
	}
	if !req.WithPieces {
		writeJSON(w, http.StatusOK, map[string]any{"tokens": toks})
		return
	}
	out := make([]map[string]any, len(toks))
	for i, t := range toks {
		out[i] = map[string]any{"id": t, "piece": pieceJSON(e.model, t)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// pieceJSON is a token's text for JSON: a string when it is valid UTF-8, else its bytes as numbers.
func pieceJSON(m *llama.Model, t llama.Token) any {
	b := m.TokenPiece(t)
	if utf8.Valid(b) {
		return string(b)
	}
	nums := make([]int, len(b))
	for i, c := range b {
		nums[i] = int(c)
	}
	return nums
}

// handleDetokenize serves POST /detokenize: {"tokens": [...]} → {"content": text}.
func (s *Server) handleDetokenize(w http.ResponseWriter, r *http.Request, e *engine) {
	var req detokenizeRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	toks, apiErr := e.checkTokenIDs("tokens", req.Tokens)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	text, err := e.model.Detokenize(toks)
	if err != nil {
		writeError(w, serverError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"content": text})
}
