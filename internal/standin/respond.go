package standin

import (
	"encoding/json"
	"net/http"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeLoading answers like llama-server does while its model loads.
func writeLoading(w http.ResponseWriter, progress float64) {
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{
		"error":    map[string]any{"code": 503, "message": "Loading model", "type": "unavailable_error"},
		"progress": progress,
	})
}

// writeError answers with an OpenAI-shaped error.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{
		"error": map[string]any{"code": status, "message": msg, "type": typ},
	})
}
