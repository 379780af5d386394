package auth

import (
	"context"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"custos/internal/apierror"
)

// Guard decides who may use custos's operator routes (/admin, /status,
// /metrics on the main listener, /debug/pprof). Only the operator may:
//
//   - with an admin token configured, a request must carry it, or the
//     session cookie a login with it opened (session.go);
//   - without one, a request must come from a loopback peer, directly (not
//     relayed by a proxy, which would make every client a loopback peer),
//     and name a loopback host in Host, so a web page that rebinds its own
//     domain name to 127.0.0.1 cannot read these routes;
//   - in both cases a request a browser sent on another site's behalf is
//     refused (Origin or Sec-Fetch-Site says so), and a state-changing one
//     must declare Content-Type: application/json, which a page of
//     another site cannot send without a CORS preflight custos never
//     grants.
type Guard struct {
	keys *Keys
}

// NewGuard returns the guard for the admin token(s) in keys; empty keys
// mean loopback only.
func NewGuard(keys *Keys) *Guard { return &Guard{keys: keys} }

// Wrap serves next to the operator only.
func (g *Guard) Wrap(next http.HandlerFunc) http.HandlerFunc { return g.wrap(next, true) }

// WrapLogin serves the session route: every rule of Wrap but the token,
// which the route itself checks in the body.
func (g *Guard) WrapLogin(next http.HandlerFunc) http.HandlerFunc { return g.wrap(next, false) }

func (g *Guard) wrap(next http.HandlerFunc, needToken bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sessionEnds, e, refused := g.check(r, needToken)
		if refused {
			if e.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="custos admin"`)
			}
			e.Write(w)
			return
		}
		if !sessionEnds.IsZero() {
			// Let in by its session alone, a request lasts no longer than
			// the session: an event stream opened with it ends when it
			// expires, rather than showing the operator's view for good.
			ctx, cancel := context.WithDeadline(r.Context(), sessionEnds)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next(w, r)
	}
}

// check returns why r is refused, if it is, and when the session that
// let it in ends (zero: a token, or no token needed, let it in).
func (g *Guard) check(r *http.Request, needToken bool) (time.Time, apierror.Error, bool) {
	if why := crossSite(r); why != "" {
		return time.Time{}, apierror.Forbidden("cross_site_refused", "operator routes answer custos's own pages and non-browser clients only: "+why), true
	}
	var sessionEnds time.Time
	if !g.keys.Empty() {
		if needToken && !g.keys.Allow(r) {
			ends, ok := g.keys.session(r)
			if !ok {
				return time.Time{}, apierror.Error{Status: http.StatusUnauthorized, Type: apierror.TypeAuthentication, Code: "invalid_admin_token",
					Message: "operator routes need the admin bearer token (or a session opened with it: POST /admin/session)"}, true
			}
			sessionEnds = ends
		}
	} else {
		switch {
		case !fromLoopback(r):
			return time.Time{}, apierror.Forbidden("admin_loopback_only", "operator routes accept requests from the loopback interface only (no admin token is configured)"), true
		case relayed(r):
			return time.Time{}, apierror.Forbidden("admin_loopback_only", "operator routes do not answer requests relayed by a proxy unless an admin token is configured"), true
		case !LoopbackHost(r.Host):
			return time.Time{}, apierror.Forbidden("admin_host_refused", "operator routes answer only a Host that names loopback (localhost, 127.0.0.1, [::1]) unless an admin token is configured"), true
		}
	}
	if changesState(r.Method) && !isJSON(r.Header.Get("Content-Type")) {
		return time.Time{}, apierror.Error{Status: http.StatusUnsupportedMediaType, Type: apierror.TypeInvalidRequest, Code: "json_required",
			Message: r.Method + " on an operator route needs Content-Type: application/json"}, true
	}
	return sessionEnds, apierror.Error{}, false
}

// crossSite says why a browser sent r on another site's behalf, or "".
func crossSite(r *http.Request) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none": // not a browser, custos's own page, or typed in the address bar
	default:
		return "Sec-Fetch-Site is " + site
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	if !SameOrigin(origin, r.Host) {
		return "Origin " + origin + " is not " + r.Host
	}
	return ""
}

// SameOrigin reports whether a browser's Origin header names the host the
// request was sent to (custos serves plain HTTP, or sits behind a proxy
// that keeps Host).
func SameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false // "null" (a sandboxed page, a file) included
	}
	return strings.EqualFold(u.Host, host)
}

func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// relayed reports whether a proxy says it relayed r for someone else.
func relayed(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

// LoopbackHost reports whether a Host header names this machine's
// loopback: localhost (or a name under .localhost, which resolvers keep on
// loopback) or a loopback address. A page's own domain name, rebound to
// 127.0.0.1, is neither.
func LoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
