package auth

import "net/http"

// Require serves next only to requests carrying one of keys, and answers
// others 401 with an OpenAI-shaped error. With no keys it is next itself.
func Require(keys *Keys, next http.Handler) http.Handler {
	if keys.Empty() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !keys.Allow(r) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer realm="custos"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"message":"missing or invalid API key: send Authorization: Bearer <key>","type":"authentication_error","code":"invalid_api_key"}}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
