// Package cors is custos's own cross-origin policy for the inference
// routes. A backend's Access-Control-* headers never reach a client (the
// gateway drops them): which web pages may call custos is the operator's
// decision, made once in cors.allowed_origins, not each backend's.
//
// A request without Origin (any non-browser client) or from custos's own
// origin passes untouched. A listed origin gets Access-Control-Allow-Origin
// and its preflights answered. Any other origin is refused with 403, so a
// web page the operator happens to open cannot spend their inference with
// a "simple" cross-site POST the browser sends without asking.
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
		if origin == "" || auth.SameOrigin(origin, r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		if !p.allows(origin) {
			apierror.Forbidden("origin_not_allowed", "requests from the web page at "+origin+
				" are not allowed; list its origin in cors.allowed_origins to allow them").Write(w)
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

func (p *Policy) allows(origin string) bool {
	return p.any || slices.Contains(p.origins, strings.ToLower(origin))
}

// IsCORSHeader reports whether a response header belongs to a CORS policy,
// which a proxied backend must not set for custos.
func IsCORSHeader(name string) bool {
	return len(name) > len("Access-Control-") && strings.EqualFold(name[:len("Access-Control-")], "Access-Control-")
}
