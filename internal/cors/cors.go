// Package cors is custos's own cross-origin policy for the inference
// routes. A backend's Access-Control-* headers never reach a client (the
// gateway drops them): which web pages may call custos is the operator's
// decision, made once in cors.allowed_origins, not each backend's.
//
// A request from a non-browser client passes untouched, as does one from
// custos's own origin when that names loopback (a page custos serves to
// the operator). A listed origin gets Access-Control-Allow-Origin and its
// preflights answered. Any other page is refused with 403, so a web page
// the operator happens to open cannot spend their inference with a
// "simple" cross-site POST the browser sends without asking — nor by
// rebinding its own domain name to 127.0.0.1, which makes its requests
// look same-origin to the browser but leaves its name in Host and Origin.
// Behind a reverse proxy that keeps Host, list the proxy's public origin.
package cors

import (
	"net/http"
	"slices"
	"strings"

	"custos/internal/apierror"
	"custos/internal/auth"
)

// Policy is the set of allowed origins.
type Policy struct {
	origins []string
	any     bool
}

// New returns the policy allowing origins ("*" allows any).
func New(origins []string) *Policy {
	p := &Policy{}
	for _, o := range origins {
		if o == "*" {
			p.any = true
			continue
		}
		p.origins = append(p.origins, strings.ToLower(strings.TrimRight(o, "/")))
	}
	return p
}

// preflightMaxAge is how long a browser may cache a preflight's answer.
const preflightMaxAge = "600"

// Wrap applies the policy in front of next.
func (p *Policy) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			// A same-origin GET from a page carries no Origin; the
			// browser still says it fetched it.
			if fromPage(r) && !auth.LoopbackHost(r.Host) && !p.allows("http://"+r.Host) && !p.allows("https://"+r.Host) {
				refuse(w, "http://"+r.Host)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if auth.SameOrigin(origin, r.Host) && auth.LoopbackHost(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		if !p.allows(origin) {
			refuse(w, origin)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
				h.Set("Access-Control-Allow-Headers", asked)
			}
			h.Set("Access-Control-Max-Age", preflightMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fromPage reports whether a browser fetched r for a web page (rather than
// the user typing its address, or a client that is not a browser).
func fromPage(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	return site != "" && site != "none"
}

func refuse(w http.ResponseWriter, origin string) {
	apierror.Forbidden("origin_not_allowed", "requests from the web page at "+origin+
		" are not allowed; list its origin in cors.allowed_origins to allow them").Write(w)
}

func (p *Policy) allows(origin string) bool {
	return p.any || slices.Contains(p.origins, strings.ToLower(origin))
}

// IsCORSHeader reports whether a response header belongs to a CORS policy,
// which a proxied backend must not set for custos.
func IsCORSHeader(name string) bool {
	return len(name) > len("Access-Control-") && strings.EqualFold(name[:len("Access-Control-")], "Access-Control-")
}
