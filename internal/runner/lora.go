package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"

	"custos/internal/llama"
)

// loraAdapter is one adapter of --lora or --lora-scaled; its id is its place in the engine's list.
type loraAdapter struct {
	adapter *llama.LoRA
	path    string
}

// loraScale is one entry of a lora list, as POST /lora-adapters and a request's lora field give it.
type loraScale struct {
	ID    int     `json:"id"`
	Scale float32 `json:"scale"`
}

// loadLoRA loads cfg's adapters for model and returns them with the scales they start at (all 0 under
// --lora-init-without-apply).
func loadLoRA(model *llama.Model, cfg Config) ([]loraAdapter, []float32, error) {
	var adapters []loraAdapter
	var scales []float32
	for _, spec := range cfg.LoRA {
		a, err := model.LoadLoRA(spec.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("runner: --lora: %w", err)
		}
		adapters = append(adapters, loraAdapter{adapter: a, path: spec.Path})
		scale := spec.Scale
		if cfg.LoRAInitWithoutApply {
			scale = 0
		}
		scales = append(scales, scale)
	}
	return adapters, scales, nil
}

// parseLoRAList reads a lora list ([{"id", "scale"}, ...]) for n loaded adapters. A missing scale is 0, as
// llama-server reads it; an entry that is not an object, an id that names no loaded adapter and a scale
// that is not a finite number are refused with field in the message. Later entries for an id win.
func parseLoRAList(raw json.RawMessage, n int, field string) ([]loraScale, *apiError) {
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, badRequest("%s must be an array of objects with \"id\" and \"scale\" fields", field)
	}
	byID := map[int]float32{}
	for i, entry := range entries {
		var e struct {
			ID    json.RawMessage `json:"id"`
			Scale json.RawMessage `json:"scale"`
		}
		if !bytes.HasPrefix(bytes.TrimSpace(entry), []byte("{")) || json.Unmarshal(entry, &e) != nil {
			return nil, badRequest("%s[%d] must be an object {\"id\": integer, \"scale\": number}", field, i)
		}
		if e.ID == nil {
			return nil, badRequest("%s[%d] has no \"id\"", field, i)
		}
		id, err := jsonNumber(e.ID).Int64()
		if err != nil || id < 0 || id >= int64(n) {
			return nil, badRequest("%s[%d]: no LoRA adapter with id %s (%s)", field, i, e.ID, loadedIDs(n))
		}
		var scale float32
		if e.Scale != nil && string(e.Scale) != "null" {
			x, err := jsonNumber(e.Scale).Float64()
			scale = float32(x)
			if err != nil || math.IsInf(float64(scale), 0) {
				return nil, badRequest("%s[%d]: \"scale\" must be a finite number, got %s", field, i, e.Scale)
			}
		}
		byID[int(id)] = scale
	}
	list := make([]loraScale, 0, len(byID))
	for id, scale := range byID {
		list = append(list, loraScale{ID: id, Scale: scale})
	}
	slices.SortFunc(list, func(a, b loraScale) int { return a.ID - b.ID })
	return list, nil
}

// loadedIDs describes the valid adapter ids for an error message.
func loadedIDs(n int) string {
	switch n {
	case 0:
		return "the runner loads none; give --lora"
	case 1:
		return "the one loaded adapter is id 0"
	}
	return fmt.Sprintf("the loaded adapters are ids 0 to %d", n-1)
}

// scalesOf turns a lora list into one scale per loaded adapter: the listed ones at their scale, every
// other at 0, as llama-server applies a request's list or a POST's.
func scalesOf(list []loraScale, n int) []float32 {
	scales := make([]float32, n)
	for _, l := range list {
		scales[l.ID] = l.Scale
	}
	return scales
}

// handleListLoRA serves GET /lora-adapters: each loaded adapter with its id, file and current global scale,
// and the task name and prompt prefix of its metadata, as llama-server lists them.
func (s *Server) handleListLoRA(w http.ResponseWriter, _ *http.Request, e *engine) {
	scales := e.sched.globalLoRA()
	out := make([]map[string]any, len(e.loras))
	for i, a := range e.loras {
		out[i] = map[string]any{"id": i, "path": a.path, "scale": scales[i],
			"task_name": a.adapter.TaskName, "prompt_prefix": a.adapter.PromptPrefix}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleSetLoRA serves POST /lora-adapters: the adapters listed get their scale, every other 0, for the
// requests that give no lora list of their own, from the next one the scheduler starts.
func (s *Server) handleSetLoRA(w http.ResponseWriter, r *http.Request, e *engine) {
	var raw json.RawMessage
	if err := s.decodeJSON(w, r, &raw); err != nil {
		writeError(w, err)
		return
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		writeError(w, badRequest("Request body must be an array"))
		return
	}
	list, err := parseLoRAList(raw, len(e.loras), "the body")
	if err != nil {
		writeError(w, err)
		return
	}
	e.sched.setGlobalLoRA(scalesOf(list, len(e.loras)))
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// jsonNumber is raw as a number, or an empty (invalid) one when raw is anything else: a number sent as a
// string ("0.5") is a client's mistake, which json.Number alone would accept.
func jsonNumber(raw json.RawMessage) json.Number {
	var n json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return ""
	}
	return n
}
