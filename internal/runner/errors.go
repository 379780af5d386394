package runner

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an error answered to a client in the OpenAI shape llama-server uses:
// {"error":{"code":400,"message":"...","type":"invalid_request_error"}}.
type apiError struct {
	Status  int
	Type    string
	Message string
	// Fields are further members of the error object: llama-server gives an exceed_context_size_error the
	// prompt's length and the context's, as n_prompt_tokens and n_ctx.
	Fields map[string]any
}

func (e *apiError) Error() string { return e.Message }

// Error types of llama-server's answers.
const (
	typeInvalidRequest  = "invalid_request_error"
	typeExceedContext   = "exceed_context_size_error"
	typeNotSupported    = "not_supported_error"
	typeUnavailable     = "unavailable_error"
	typeServer          = "server_error"
	typeNotFound        = "not_found_error"
	messageLoadingModel = "Loading model"
)

func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

func serverError(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: err.Error()}
}

// exceedContext is the error of a prompt of nPrompt tokens that does not fit a context of nCtx.
func exceedContext(nPrompt, nCtx int, message string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeExceedContext, Message: message,
		Fields: map[string]any{"n_prompt_tokens": nPrompt, "n_ctx": nCtx}}
}

// errorBody is the JSON body of an apiError.
func errorBody(e *apiError) map[string]any {
	body := map[string]any{"code": e.Status, "message": e.Message, "type": e.Type}
	for k, v := range e.Fields {
		body[k] = v
	}
	return map[string]any{"error": body}
}

// writeError answers e as JSON.
func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, errorBody(e))
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":500,"message":"encoding the response failed","type":"server_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
