package runner

import (
	"net/http"
)

// reasoningControl is POST /v1/chat/completions/control's request to the scheduler: end the reasoning of
// the running chat completion id, which asked for reasoning_control.
type reasoningControl struct {
	completionID string
	done         chan controlResult // buffered: the scheduler never waits for the handler
}

// controlResult is llama-server's answer: success, and why not.
type controlResult struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
}

// handleControl serves POST /v1/chat/completions/control {"id": <chat completion id>, "action":
// "reasoning_end"}: the completion's reasoning ends at its next token, as a spent budget ends it.
func (s *Server) handleControl(w http.ResponseWriter, r *http.Request, e *engine) {
	var req struct {
		ID     string `json:"id"`
		Action string `json:"action"`
	}
	apiErr := s.decodeJSON(w, r, &req)
	switch {
	case apiErr != nil:
	case req.ID == "":
		apiErr = badRequest("missing completion id")
	case req.Action != "reasoning_end":
		apiErr = badRequest("unknown control action")
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	c := &reasoningControl{completionID: req.ID, done: make(chan controlResult, 1)}
	select {
	case e.sched.controls <- c:
	case <-e.sched.done:
		writeError(w, shuttingDown())
		return
	case <-r.Context().Done():
		return
	}
	select {
	case res := <-c.done:
		writeJSON(w, http.StatusOK, res)
	case <-e.sched.done:
		writeError(w, shuttingDown())
	case <-r.Context().Done():
	}
}

// control acts on c at once, on the slot generating its completion.
func (s *scheduler) control(c *reasoningControl) controlResult {
	for _, sl := range s.slots {
		if !sl.busy() || sl.task.params.completionID != c.completionID {
			continue
		}
		if sl.task.params.budget == nil || !sl.task.params.budget.control {
			return controlResult{Message: "reasoning control not enabled for this completion"}
		}
		// As in llama-server, a reasoning already over (or not begun) is success too: nothing is left to end.
		for _, other := range s.slots {
			if other.task == sl.task {
				other.budget.endNow()
			}
		}
		return controlResult{Success: true}
	}
	return controlResult{Message: "no active completion for this id"}
}
