package api

import (
	"net"
	"net/http"
)

// restart asks a model's supervisor to restart its backend now, also
// taking it out of `unhealthy`. Until admin authentication exists, admin
// routes answer only to clients on the loopback interface.
func (a *API) restart(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		writeError(w, http.StatusForbidden, "permission_error", "admin_loopback_only",
			"admin routes accept requests from the loopback interface only")
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
			a.opts.Logger.Info("restart requested", "model", m.ID, "remote", r.RemoteAddr)
			writeJSON(w, http.StatusAccepted, map[string]string{"model": m.ID, "result": "restarting"})
			return
		}
	}
	writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "no model named "+name)
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
