// Package auth checks bearer tokens: the admin token on /admin routes and
// the API keys on inference routes. Comparisons take constant time, and no
// token ever reaches a log line.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Keys is a set of accepted bearer tokens. Tokens are kept as SHA-256
// digests so that comparing them takes the same time whatever their
// lengths, and so that the process holds no key in plain text after load.
type Keys struct {
	digests [][sha256.Size]byte
}

// NewKeys returns the set; empty strings are ignored.
func NewKeys(tokens ...string) *Keys {
	k := &Keys{}
	for _, t := range tokens {
		if t != "" {
			k.digests = append(k.digests, sha256.Sum256([]byte(t)))
		}
	}
	return k
}

// Empty reports whether no key is configured (the routes are open).
func (k *Keys) Empty() bool { return k == nil || len(k.digests) == 0 }

// Allow reports whether the request carries one of the keys as
// "Authorization: Bearer <key>". Every key is compared, found or not, so
// the time taken does not say which one matched.
func (k *Keys) Allow(r *http.Request) bool {
	token, ok := bearer(r)
	return ok && k.Match(token)
}

// Match reports whether token is one of the keys. Every key is compared,
// in constant time.
func (k *Keys) Match(token string) bool {
	d := sha256.Sum256([]byte(token))
	match := 0
	for i := range k.digests {
		match |= subtle.ConstantTimeCompare(d[:], k.digests[i][:])
	}
	return match == 1
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}
