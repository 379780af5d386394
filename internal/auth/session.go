package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SessionCookie is the cookie by which a browser carries the operator's
// session instead of the admin token, which a page should never keep.
const SessionCookie = "custos_session"

// SessionLifetime is how long a session lasts after its login.
const SessionLifetime = 12 * time.Hour

// sessionLabel separates the session's signing key from any other use of
// the token's digest.
const sessionLabel = "custos operator session v1"

// A session is "<unix expiry>.<HMAC-SHA256 of the expiry>", keyed by a key
// derived from the admin token's digest. It needs no state on the server,
// so it survives a restart of custos, and a new token invalidates every
// session signed with the old one.

// sessionKey is the signing key of the i-th token.
func (k *Keys) sessionKey(i int) []byte {
	mac := hmac.New(sha256.New, k.digests[i][:])
	mac.Write([]byte(sessionLabel))
	return mac.Sum(nil)
}

func signExpiry(key []byte, expiry string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(expiry))
	return mac.Sum(nil)
}

// NewSession returns a session cookie value that expires at expires,
// signed with the first token; "" when no token is configured.
func (k *Keys) NewSession(expires time.Time) string {
	if k.Empty() {
		return ""
	}
	expiry := strconv.FormatInt(expires.Unix(), 10)
	return expiry + "." + base64.RawURLEncoding.EncodeToString(signExpiry(k.sessionKey(0), expiry))
}

// ValidSession reports whether value is a session one of the tokens
// signed that has not expired at now. Signatures are compared in constant
// time, against every token.
func (k *Keys) ValidSession(value string, now time.Time) bool {
	_, ok := k.sessionExpiry(value, now)
	return ok
}

// sessionExpiry is when the session value ends, if it is valid at now.
func (k *Keys) sessionExpiry(value string, now time.Time) (time.Time, bool) {
	if k.Empty() {
		return time.Time{}, false
	}
	expiry, sig, ok := strings.Cut(value, ".")
	if !ok {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return time.Time{}, false
	}
	match := false
	for i := range k.digests {
		if hmac.Equal(got, signExpiry(k.sessionKey(i), expiry)) {
			match = true
		}
	}
	// A session lasts SessionLifetime at most, even one signed for longer.
	exp := time.Unix(secs, 0)
	return exp, match && now.Before(exp) && !exp.After(now.Add(SessionLifetime))
}

// session returns when the session cookie r carries ends, if it is valid.
func (k *Keys) session(r *http.Request) (time.Time, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return time.Time{}, false
	}
	return k.sessionExpiry(c.Value, time.Now())
}

// SessionCookieFor is the cookie that carries a session value signed for
// SessionLifetime from now.
func SessionCookieFor(value string) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: int(SessionLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

// ClearedSessionCookie is the cookie that ends a session in the browser.
func ClearedSessionCookie() *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

// DropSessionCookie removes the session cookie from the Cookie headers of
// h, keeping every other cookie: a browser sends it with every request to
// custos, the dashboard's playground's /v1 requests included, and it is
// the operator's credential, which no backend, replica or fallback may
// be given.
func DropSessionCookie(h http.Header) {
	lines := h["Cookie"]
	if !slices.ContainsFunc(lines, func(line string) bool { return strings.Contains(line, SessionCookie) }) {
		return // nothing to drop: no allocation on the gateway's path
	}
	kept := lines[:0:0]
	for _, line := range lines {
		if !strings.Contains(line, SessionCookie) {
			kept = append(kept, line)
			continue
		}
		var parts []string
		for part := range strings.SplitSeq(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name != SessionCookie && strings.TrimSpace(part) != "" {
				parts = append(parts, strings.TrimSpace(part))
			}
		}
		if len(parts) > 0 {
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h["Cookie"] = kept
}
