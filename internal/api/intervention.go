package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"custos/internal/intervention"
)

// maxReason bounds a reason so the audit log cannot be flooded.
const maxReason = 1000

// InterventionStatus is the body of GET /admin/intervention.
type InterventionStatus struct {
	Enabled bool `json:"enabled"`
	Paused  bool `json:"paused"`
	// Restoring is true while the control state is read back from the
	// store: requests wait and changes are refused until it is known.
	Restoring         bool                  `json:"restoring,omitempty"`
	PauseOnDistressed bool                  `json:"pause_on_distressed"`
	PauseOnConcerned  bool                  `json:"pause_on_concerned"`
	MaxPauseSecs      float64               `json:"max_pause_secs"`
	WaitTimeoutSecs   float64               `json:"wait_timeout_secs"`
	State             intervention.State    `json:"state"`
	Counters          intervention.Counters `json:"counters"`
}

func (a *API) interventionStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.InterventionStatus())
}

// InterventionStatus assembles the controller's status.
func (a *API) InterventionStatus() InterventionStatus {
	c, cfg := a.opts.Intervention, a.opts.Config.Intervention
	return InterventionStatus{
		Enabled: cfg.Enabled, Paused: c.Paused(), Restoring: c.Restoring(),
		PauseOnDistressed: cfg.PauseOnDistressed, PauseOnConcerned: cfg.PauseOnConcerned,
		MaxPauseSecs: cfg.MaxPause.Seconds(), WaitTimeoutSecs: cfg.WaitTimeout.Seconds(),
		State: c.State(), Counters: c.Counters(),
	}
}

type pauseRequest struct {
	Reason *string `json:"reason"`
	Model  *string `json:"model"`
}

type wellbeingRequest struct {
	State  *string `json:"state"`
	Reason *string `json:"reason"`
}

func (a *API) pause(w http.ResponseWriter, r *http.Request) {
	var req pauseRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Reason == nil || strings.TrimSpace(*req.Reason) == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "missing_reason", "a pause needs a non-empty \"reason\"")
		return
	}
	if !checkReason(w, *req.Reason) {
		return
	}
	scope, ok := a.scope(w, req.Model)
	if !ok {
		return
	}
	res, err := a.opts.Intervention.Pause(scope, *req.Reason, actor(r))
	a.writeResult(w, res, err)
}

func (a *API) resume(w http.ResponseWriter, r *http.Request) {
	var req pauseRequest
	if !decodeBody(w, r, &req) {
		return
	}
	scope, ok := a.scope(w, req.Model)
	if !ok {
		return
	}
	res, err := a.opts.Intervention.Resume(scope, actor(r))
	a.writeResult(w, res, err)
}

func (a *API) wellbeing(w http.ResponseWriter, r *http.Request) {
	var req wellbeingRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.State == nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "missing_state", "\"state\" is required: healthy, cautious, concerned or distressed")
		return
	}
	state, err := intervention.ParseWellbeing(*req.State)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_state", err.Error())
		return
	}
	reason := ""
	if req.Reason != nil {
		reason = *req.Reason
	}
	if !checkReason(w, reason) {
		return
	}
	res, err := a.opts.Intervention.UpdateWellbeing(state, reason, actor(r))
	a.writeResult(w, res, err)
}

func (a *API) audit(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_limit", "limit must be a whole number from 1 to 10000")
			return
		}
		limit = n
	}
	events, err := a.opts.Store.Audit(limit)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "server_error", "store_unavailable", "reading the audit log: "+err.Error())
		return
	}
	if events == nil {
		events = []intervention.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
}

// scope resolves an optional model (id or alias) to a pause scope.
func (a *API) scope(w http.ResponseWriter, model *string) (string, bool) {
	if model == nil || *model == "" {
		return intervention.GlobalScope, true
	}
	m, ok := a.opts.Config.Model(*model)
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", fmt.Sprintf("no model named %q", *model))
		return "", false
	}
	return m.ID, true
}

func (a *API) writeResult(w http.ResponseWriter, res intervention.Result, err error) {
	if errors.Is(err, intervention.ErrDisabled) {
		writeError(w, http.StatusConflict, "invalid_request_error", "intervention_disabled", err.Error())
		return
	}
	if errors.Is(err, intervention.ErrRestoring) {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "unavailable_error", "state_store_warming", err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "intervention_failed", err.Error())
		return
	}
	body := map[string]any{"changed": res.Changed, "durable": res.Durable, "state": res.State}
	if !res.Durable {
		body["warning"] = "the change holds in memory but could not be written to the store; it will not survive a restart"
	}
	writeJSON(w, http.StatusOK, body)
}

func checkReason(w http.ResponseWriter, reason string) bool {
	if len(reason) > maxReason || !utf8.ValidString(reason) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_reason", fmt.Sprintf("reason must be valid UTF-8 of at most %d bytes", maxReason))
		return false
	}
	return true
}

// decodeBody reads a small JSON object; an empty body is an empty object.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_body", "reading the body: "+err.Error())
		return false
	}
	if len(body) > 64<<10 {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "body_too_large", "admin request bodies are limited to 64 KiB")
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "the body must be a JSON object: "+err.Error())
		return false
	}
	return true
}
