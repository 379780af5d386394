package api

import (
	"net"
	"net/http"
)

// admin guards a route: with an admin token configured, the request must
// carry it; without one, only loopback clients are served (custos refuses
// to listen beyond loopback without a token, see config).
func (a *API) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.opts.AdminKeys.Empty() {
			if !a.opts.AdminKeys.Allow(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="custos admin"`)
				writeError(w, http.StatusUnauthorized, "authentication_error", "invalid_admin_token",
					"admin routes need the admin bearer token")
				return
			}
		} else if !fromLoopback(r) {
			writeError(w, http.StatusForbidden, "permission_error", "admin_loopback_only",
				"admin routes accept requests from the loopback interface only")
			return
		}
		next(w, r)
	}
}

// restart asks a model's supervisor to restart its backend now, also
// taking it out of `unhealthy`.
func (a *API) restart(w http.ResponseWriter, r *http.Request) {
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

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// actor is who the audit log names for an admin request: the CLI says so
// in a header; anything else is the admin API.
func actor(r *http.Request) string {
	if r.Header.Get("X-Custos-Client") == "cli" {
		return "cli"
	}
	return "admin"
}
