package api

import (
	"net/http"
)

// restart asks a model's supervisor to restart its backend now, also
// taking it out of `unhealthy`.
func (a *API) restart(w http.ResponseWriter, r *http.Request) {
	var none struct{}
	if !decodeBody(w, r, &none) {
		return
	}
	name := r.PathValue("model")
	m, ok := a.opts.Config.Model(name)
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "no model named "+name)
		return
	}
	for i, b := range a.opts.Backends {
		if a.opts.Config.Models[i].ID == m.ID {
			b.Restart()
			a.opts.Logger.Info("restart requested", "model", m.ID, "remote", r.RemoteAddr, "by", actor(r))
			writeJSON(w, http.StatusAccepted, map[string]string{"model": m.ID, "result": "restarting"})
			return
		}
	}
	writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "no model named "+name)
}

// actor is who the audit log names for an admin request: the CLI says so
// in a header; anything else is the admin API.
func actor(r *http.Request) string {
	if r.Header.Get("X-Custos-Client") == "cli" {
		return "cli"
	}
	return "admin"
}
