package standin

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// writeJSON answers with v and its length, so that a head sent on its own
// (NoNoDelay) still announces the body as llama-server's answers do.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// splitWriter sends the response head as soon as it is written, in a
// write of its own, as Python's http.server does (NoNoDelay).
type splitWriter struct{ http.ResponseWriter }

func (w splitWriter) WriteHeader(status int) {
	w.ResponseWriter.WriteHeader(status)
	w.Flush()
}

// Flush keeps streaming answers streamed through the wrapper.
func (w splitWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

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
