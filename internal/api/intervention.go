package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"custos/internal/apierror"
	"custos/internal/httpserver"
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
	ctx, cancel := changeContext(r)
	defer cancel()
	res, err := a.opts.Intervention.Pause(ctx, scope, *req.Reason, actor(r))
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
	ctx, cancel := changeContext(r)
	defer cancel()
	res, err := a.opts.Intervention.Resume(ctx, scope, actor(r))
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
	ctx, cancel := changeContext(r)
	defer cancel()
	res, err := a.opts.Intervention.UpdateWellbeing(ctx, state, reason, actor(r))
	a.writeResult(w, res, err)
}

func (a *API) audit(w http.ResponseWriter, r *http.Request) {
	limit, ok := queryInt(w, r, "limit", 50, 1, 10000)
	if !ok {
		return
	}
	offset, ok := queryInt(w, r, "offset", 0, 0, math.MaxInt32)
	if !ok {
		return
	}
	// One event past the page says whether another page follows.
	events, err := a.opts.Store.Audit(offset, limit+1)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "server_error", "store_unavailable", "reading the audit log: "+err.Error())
		return
	}
	page := map[string]any{"offset": offset, "next_offset": nil}
	if len(events) > limit {
		events = events[:limit]
		page["next_offset"] = offset + limit
	}
	if events == nil {
		events = []intervention.Event{}
	}
	page["events"] = events
	writeJSON(w, http.StatusOK, page)
}

// queryInt reads an optional whole-number query parameter within [low, high],
// answering 400 naming it when it is not one.
func queryInt(w http.ResponseWriter, r *http.Request, name string, fallback, low, high int) (int, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return fallback, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < low || n > high {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_"+name, fmt.Sprintf("%s must be a whole number from %d to %d", name, low, high))
		return 0, false
	}
	return n, true
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

// ChangeWait is the longest a control change waits for the control state
// to be read back, or for the change before it to be written, before it
// is refused unapplied. It is well below the CLI's own timeout, so the CLI
// always hears what happened to a change.
const ChangeWait = 5 * time.Second

// changeContext bounds a change by ChangeWait and by the client: a change
// whose client went away before it could be applied is not applied.
func changeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), ChangeWait)
}

func (a *API) writeResult(w http.ResponseWriter, res intervention.Result, err error) {
	switch {
	case errors.Is(err, intervention.ErrDisabled):
		writeError(w, http.StatusConflict, "invalid_request_error", "intervention_disabled", err.Error())
		return
	case errors.Is(err, intervention.ErrRestoring):
		apierror.Unavailable("state_store_warming", err.Error(), time.Second).Write(w)
		return
	case errors.Is(err, intervention.ErrBusy):
		apierror.Unavailable("store_busy", err.Error(), time.Second).Write(w)
		return
	case errors.Is(err, intervention.ErrClosed):
		apierror.Unavailable("shutting_down", err.Error(), 5*time.Second).Write(w)
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

// maxAdminBody bounds an admin request body.
const maxAdminBody = 64 << 10

// decodeBody reads a small JSON object ({} when there is nothing to say):
// an empty body is refused, as nothing but a JSON object is an admin
// request.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := httpserver.ReadBody(r, maxAdminBody)
	if err != nil {
		httpserver.BodyError(err, maxAdminBody, "the admin body limit").Write(w)
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "the body must be a JSON object ({} for none)")
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "the body must be a JSON object: "+err.Error())
		return false
	}
	return true
}
