package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// OpenAI error types.
const (
	typeInvalidRequest = "invalid_request_error"
	typeRateLimit      = "rate_limit_error"
	typeServer         = "server_error"
	typeUnavailable    = "unavailable_error"
)

// apiError is an error answer in the OpenAI shape.
type apiError struct {
	status     int
	typ, code  string
	message    string
	retryAfter time.Duration // 0: no Retry-After header
}

// write sends the error. Retry-After is rounded up to whole seconds, at
// least one, as the header allows no fractions.
func (e apiError) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		secs := int((e.retryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	w.WriteHeader(e.status)
	body, _ := json.Marshal(struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    string `json:"code"`
		} `json:"error"`
	}{Error: struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	}{e.message, e.typ, e.code}})
	_, _ = w.Write(append(body, '\n'))
}

func badRequest(code, message string) apiError {
	return apiError{status: http.StatusBadRequest, typ: typeInvalidRequest, code: code, message: message}
}

func unavailable(code, message string, retryAfter time.Duration) apiError {
	return apiError{status: http.StatusServiceUnavailable, typ: typeUnavailable, code: code, message: message, retryAfter: retryAfter}
}
