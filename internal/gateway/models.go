package gateway

import (
	"encoding/json"
	"net/http"
	"time"
)

// modelEntry is one item of GET /v1/models, with custos's state added.
type modelEntry struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	OwnedBy string       `json:"owned_by"`
	Custos  modelDetails `json:"custos"`
}

type modelDetails struct {
	Model   string `json:"model"`
	AliasOf string `json:"alias_of,omitempty"`
	Status  string `json:"status"`
	State   string `json:"state"`
	// Reason says why the model is in State, and Since since when.
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since"`
	WarmUpState string    `json:"warm_up_state"`
	Backend     string    `json:"backend"`
	// From the GGUF file, when custos read it.
	Architecture  string `json:"architecture,omitempty"`
	Parameters    uint64 `json:"parameters,omitempty"`
	ContextLength int    `json:"context_length,omitempty"`
	FileType      string `json:"file_type,omitempty"`
}

// listModels answers every configured model and alias with its state.
func (g *Gateway) listModels(w http.ResponseWriter, _ *http.Request) {
	data := make([]modelEntry, 0, len(g.order))
	for _, m := range g.order {
		snap, _ := m.state.Watch()
		d := modelDetails{Model: m.cfg.ID, Status: snap.Status(), State: snap.State.String(), Reason: snap.Reason, Since: snap.Since,
			WarmUpState: snap.WarmUpState(), Backend: snap.Backend}
		if in := m.cfg.Info; in != nil {
			d.Architecture, d.Parameters, d.ContextLength, d.FileType = in.Architecture, in.ParameterCount, in.ContextLength, in.FileType
		}
		data = append(data, modelEntry{ID: m.cfg.ID, Object: "model", Created: g.startedAt.Unix(), OwnedBy: "custos", Custos: d})
		for _, a := range m.cfg.Aliases {
			ad := d
			ad.AliasOf = m.cfg.ID
			data = append(data, modelEntry{ID: a, Object: "model", Created: g.startedAt.Unix(), OwnedBy: "custos", Custos: ad})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}
