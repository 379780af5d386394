package runner

import (
	"encoding/json"
	"net/http"
)

// handleListLoRA serves GET /lora-adapters: the runner loads no LoRA adapters (it has no --lora), so the
// list is empty, which is the truth a client needs.
func (s *Server) handleListLoRA(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, []any{})
}

// handleSetLoRA serves POST /lora-adapters: an empty list is accepted (there is nothing to scale); an
// entry names an adapter that is not loaded, which is the client's error.
func (s *Server) handleSetLoRA(w http.ResponseWriter, r *http.Request) {
	var entries []struct {
		ID    *int     `json:"id"`
		Scale *float64 `json:"scale"`
	}
	if err := s.decodeJSON(w, r, &entries); err != nil {
		writeError(w, badRequest("Request body must be an array of {\"id\", \"scale\"}: %s", err.Message))
		return
	}
	if len(entries) > 0 {
		id := "null"
		if entries[0].ID != nil {
			b, _ := json.Marshal(*entries[0].ID)
			id = string(b)
		}
		writeError(w, badRequest("no LoRA adapter with id %s: the runner loads none (it has no --lora)", id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}
