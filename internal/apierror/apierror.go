// Package apierror writes custos's error answers in the shape OpenAI's
// clients parse, {"error":{"message","type","code"}}, with Retry-After
// where waiting helps. Every route custos answers itself — inference,
// admin, probes, the routes it does not serve — writes its errors here, so
// a client sees one shape whatever refused it.
package apierror

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Error types, as OpenAI names them (unavailable_error is custos's own, for
// answers that say "not now" rather than "never").
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
	TypeUnavailable    = "unavailable_error"
)

// Error is one error answer.
type Error struct {
	Status     int
	Type       string
	Code       string
	Message    string
	RetryAfter time.Duration // 0: no Retry-After header
}

// Error returns the message.
func (e Error) Error() string { return e.Message }

// body is the JSON envelope.
type body struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

// JSON is the encoded envelope, with a trailing newline.
func (e Error) JSON() []byte { return e.JSONIn(OpenAI) }

// JSONIn is the error encoded in env, with a trailing newline.
func (e Error) JSONIn(env Envelope) []byte {
	var v any
	switch env {
	case Anthropic:
		v = e.anthropic()
	default:
		var b body
		b.Error.Message, b.Error.Type, b.Error.Code = e.Message, e.Type, e.Code
		v = b
	}
	out, _ := json.Marshal(v)
	return append(out, '\n')
}

// Write sends the error in OpenAI's envelope. Retry-After is rounded up to
// whole seconds, at least one, as the header allows no fractions.
func (e Error) Write(w http.ResponseWriter) { e.WriteIn(w, OpenAI) }

// WriteIn sends the error in env.
func (e Error) WriteIn(w http.ResponseWriter, env Envelope) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", RetryAfterSeconds(e.RetryAfter))
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.JSONIn(env))
}

// RetryAfterSeconds renders d as a Retry-After value: whole seconds,
// rounded up, at least one.
func RetryAfterSeconds(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(secs, 1))
}

// BadRequest is a 400 invalid_request_error.
func BadRequest(code, message string) Error {
	return Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: code, Message: message}
}

// NotFound is a 404 invalid_request_error.
func NotFound(code, message string) Error {
	return Error{Status: http.StatusNotFound, Type: TypeInvalidRequest, Code: code, Message: message}
}

// Unavailable is a 503 that says when to try again.
func Unavailable(code, message string, retryAfter time.Duration) Error {
	return Error{Status: http.StatusServiceUnavailable, Type: TypeUnavailable, Code: code, Message: message, RetryAfter: retryAfter}
}

// Forbidden is a 403 permission_error.
func Forbidden(code, message string) Error {
	return Error{Status: http.StatusForbidden, Type: TypePermission, Code: code, Message: message}
}
