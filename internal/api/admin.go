package api

import (
	"errors"
	"fmt"
	"net/http"

	"custos/internal/config"
	"custos/internal/scheduler"
	"custos/internal/supervisor"
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
			if b.Snapshot().State == supervisor.StateUnloaded {
				writeError(w, http.StatusConflict, "invalid_request_error", "model_unloaded",
					"model "+m.ID+" is unloaded: nothing runs to restart; POST /admin/models/"+m.ID+"/load loads it")
				return
			}
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

// load asks the scheduler to load a model now.
func (a *API) load(w http.ResponseWriter, r *http.Request) {
	id, ok := a.placedModel(w, r)
	if !ok {
		return
	}
	ctx, cancel := changeContext(r)
	defer cancel()
	err := a.opts.Models.Load(ctx, id)
	var nr *scheduler.NoRoomError
	switch {
	case errors.As(err, &nr):
		writeError(w, http.StatusConflict, "invalid_request_error", "does_not_fit", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "unavailable_error", "scheduler_unavailable", err.Error())
		return
	}
	a.opts.Logger.Info("load requested", "model", id, "by", actor(r))
	writeJSON(w, http.StatusAccepted, map[string]string{"model": id, "result": "loading"})
}

// unload asks the scheduler to unload a model once its requests are done.
func (a *API) unload(w http.ResponseWriter, r *http.Request) {
	id, ok := a.placedModel(w, r)
	if !ok {
		return
	}
	ctx, cancel := changeContext(r)
	defer cancel()
	before, _ := a.opts.Models.Info(id)
	if err := a.opts.Models.Unload(ctx, id, actor(r)); err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable_error", "scheduler_unavailable", err.Error())
		return
	}
	if !before.Loaded {
		writeJSON(w, http.StatusOK, map[string]any{"model": id, "result": "already unloaded"})
		return
	}
	in, _ := a.opts.Models.Info(id)
	a.opts.Logger.Info("unload requested", "model", id, "by", actor(r), "in_flight", in.Requests)
	result := "unloading"
	if in.Requests > 0 {
		result = fmt.Sprintf("unloading once its %d requests are done", in.Requests)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"model": id, "result": result, "in_flight": in.Requests})
}

// placedModel reads the request's model (id or alias) and its JSON body.
func (a *API) placedModel(w http.ResponseWriter, r *http.Request) (string, bool) {
	var none struct{}
	if !decodeBody(w, r, &none) {
		return "", false
	}
	name := r.PathValue("model")
	m, ok := a.opts.Config.Model(name)
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", "no model named "+name)
		return "", false
	}
	if a.opts.Models == nil {
		writeError(w, http.StatusConflict, "invalid_request_error", "no_scheduler", "models are not placed by a scheduler here")
		return "", false
	}
	if m.Backend == config.BackendRemote {
		writeError(w, http.StatusConflict, "invalid_request_error", "remote_model",
			"model "+m.ID+" is served by remote replicas, which custos neither loads nor unloads; /status shows them")
		return "", false
	}
	return m.ID, true
}
