package gateway

import (
	"net/http"

	"custos/internal/apierror"
)

// The gateway keeps resumable streams itself (internal/resumable), in front of every backend: a stream
// outlives its client whether a runner, a llama-server, a remote replica or the fallback answers it, and
// the backend sees a client that stays to the end. Its routes are not gated: replaying what was already
// answered needs no backend.

// writeStreamError answers a resumable-stream route's error in custos's shape.
func writeStreamError(w http.ResponseWriter, status int, code, message string) {
	apierror.Error{Status: status, Type: apierror.TypeInvalidRequest, Code: code, Message: message}.Write(w)
}
