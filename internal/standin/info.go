package standin

import "net/http"

// slotContext is the context size each fake slot reports.
const slotContext = 1024

// handleProps answers GET /props with the keys of llama-server's that describe the server.
func (s *Server) handleProps(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"default_generation_settings": map[string]any{"n_ctx": slotContext, "params": map[string]any{"n_predict": -1, "seed": -1}},
		"total_slots":                 s.opts.Slots,
		"model_alias":                 s.opts.Alias,
		"model_path":                  s.opts.Model,
		"modalities":                  map[string]bool{"vision": false, "video": false, "audio": false},
		"endpoint_slots":              true,
		"endpoint_props":              false,
		"endpoint_metrics":            false,
		"chat_template":               "",
		"build_info":                  "standin",
		"is_sleeping":                 false,
	})
}

// handleSlots answers GET /slots: every slot idle, as llama-server shows an idle one.
func (s *Server) handleSlots(w http.ResponseWriter, r *http.Request) {
	slots := make([]map[string]any, s.opts.Slots)
	for i := range slots {
		slots[i] = map[string]any{"id": i, "n_ctx": slotContext, "speculative": false, "is_processing": false}
	}
	writeJSON(w, http.StatusOK, slots)
}
