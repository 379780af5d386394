package api

import (
	"net/http"
	"time"

	"custos/internal/apierror"
	"custos/internal/auth"
)

// sessionRequest is the body of POST /admin/session.
type sessionRequest struct {
	Token *string `json:"token"`
}

// login opens an operator session: the admin token, sent once, is traded
// for a session cookie that a page cannot read (HttpOnly) and that no other
// site's request carries (SameSite=Strict). Without an admin token the
// operator routes need none, so there is nothing to trade: 204, no cookie,
// and the loopback rules of the guard decide as for every operator route.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req sessionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	keys := a.opts.AdminKeys
	if keys.Empty() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if req.Token == nil || !keys.Match(*req.Token) {
		apierror.Error{Status: http.StatusUnauthorized, Type: apierror.TypeAuthentication, Code: "invalid_admin_token",
			Message: "a session needs the admin token in \"token\""}.Write(w)
		a.opts.Logger.Warn("operator login refused", "remote", r.RemoteAddr)
		return
	}
	expires := time.Now().Add(auth.SessionLifetime)
	http.SetCookie(w, auth.SessionCookieFor(keys.NewSession(expires)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	a.opts.Logger.Info("operator session opened", "remote", r.RemoteAddr, "expires", expires.UTC().Format(time.RFC3339))
}

// logout clears the session cookie. The session itself is a signed
// expiry, not a record to delete: the cookie is all there is of it (a new
// admin token ends every session at once).
func (a *API) logout(w http.ResponseWriter, _ *http.Request) {
	http.SetCookie(w, auth.ClearedSessionCookie())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
