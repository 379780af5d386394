package runner

import (
	"net/http"

	"custos/internal/llama"
)

// handleModels lists the one model served, with llama-server's "meta" figures.
func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request, e *engine) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []map[string]any{{
			"id": e.alias, "object": "model", "created": e.created, "owned_by": "llamacpp",
			"meta": map[string]any{
				"n_vocab": e.model.NVocab(), "n_ctx_train": e.model.NCtxTrain(), "n_embd": e.model.NEmbd(),
				"n_params": e.model.NParams(), "size": e.model.Size(), "vocab_type": e.model.VocabType(),
				"n_ctx": e.slotCtx, "ftype": e.model.FileType(),
			},
		}},
	})
}

// handleProps describes the server's settings like llama-server's GET /props.
func (s *Server) handleProps(w http.ResponseWriter, _ *http.Request, e *engine) {
	// The server's defaults are the settings of a request that sets nothing.
	defaults, err := s.resolveRequest(samplingFields{}, epNative, e)
	if err != nil {
		writeError(w, err)
		return
	}
	props := map[string]any{
		"default_generation_settings": map[string]any{
			"n_ctx":  e.slotCtx,
			"params": generationSettings(defaults.withinContext(e.slotCtx), true),
		},
		"total_slots":   s.cfg.Parallel,
		"model_alias":   e.alias,
		"model_path":    s.cfg.ModelPath,
		"model_ftype":   e.model.FileType(),
		"bos_token":     specialTokenText(e.model, e.model.BOS()),
		"eos_token":     specialTokenText(e.model, e.model.EOS()),
		"chat_template": e.format.templateSource(),
		"n_ctx":         e.nCtx,
		"embeddings":    s.cfg.Embeddings,
		"modalities":    map[string]bool{"vision": false, "audio": false},
		"build_info":    "custos runner",
		"system_info":   llama.SystemInfo(),
		// What llama-server turns on with flags, the runner always serves: GET /slots and /metrics. It
		// never sleeps.
		"endpoint_slots":   true,
		"endpoint_metrics": true,
		"endpoint_props":   s.cfg.Props,
		"is_sleeping":      false,
	}
	// What the chat template can render; without a Jinja template (--no-jinja, or one that does not
	// compile) there is nothing to probe.
	if e.format.jinja != nil {
		props["chat_template_caps"] = e.format.jinja.Caps().Map()
	}
	writeJSON(w, http.StatusOK, props)
}

// handleSlots lists the slots and what each is doing.
func (s *Server) handleSlots(w http.ResponseWriter, _ *http.Request, _ *engine) {
	writeJSON(w, http.StatusOK, s.snap.Load().slots)
}

// specialTokenText is a control token's text ("<s>"), or "" when the model has no such token.
func specialTokenText(m *llama.Model, t llama.Token) string {
	if t == llama.TokenNull {
		return ""
	}
	return m.TokenText(t)
}

// handleSetProps serves POST /props as llama-server of this release does: without --props it is not
// supported (501), with it the answer is success, and no setting changes (llama-server has none it changes
// there yet).
func (s *Server) handleSetProps(w http.ResponseWriter, _ *http.Request) {
	if !s.cfg.Props {
		writeError(w, &apiError{Status: http.StatusNotImplemented, Type: typeNotSupported,
			Message: "This server does not support changing global properties. Start it with `--props`"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}
