package auth

import (
	"net/http"

	"custos/internal/apierror"
)

// Require serves next only to requests carrying one of keys, and answers
// others 401 with an OpenAI-shaped error. With no keys it is next itself.
func Require(keys *Keys, next http.Handler) http.Handler {
	if keys.Empty() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !keys.Allow(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="custos"`)
			apierror.Error{Status: http.StatusUnauthorized, Type: apierror.TypeAuthentication, Code: "invalid_api_key",
				Message: "missing or invalid API key: send Authorization: Bearer <key>"}.Write(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}
