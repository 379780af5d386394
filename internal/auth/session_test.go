package auth

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// guarded sends a request with cookie to a route behind a guard of keys.
func guarded(keys *Keys, method, cookie string, header map[string]string) *httptest.ResponseRecorder {
	h := NewGuard(keys).Wrap(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	r := httptest.NewRequest(method, "http://192.0.2.1:8080/admin/resume", strings.NewReader(`{}`))
	r.RemoteAddr = "192.0.2.7:40000"
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h(rec, r)
	return rec
}

// A session signed with the admin token opens the operator routes as the
// token does, from another process of custos too (nothing is kept).
func TestSessionCookieOpensTheGuardLikeTheToken(t *testing.T) {
	value := NewKeys("tok").NewSession(time.Now().Add(time.Hour))
	if rec := guarded(NewKeys("tok"), "GET", value, nil); rec.Code != 204 {
		t.Fatalf("valid session: got %d %s, want 204", rec.Code, rec.Body)
	}
	if rec := guarded(NewKeys("tok"), "POST", value, jsonCT); rec.Code != 204 {
		t.Fatalf("valid session, JSON POST: got %d %s, want 204", rec.Code, rec.Body)
	}
}

func TestForgedSessionCookieIsRefused(t *testing.T) {
	keys := NewKeys("tok")
	good := keys.NewSession(time.Now().Add(time.Hour))
	expiry, _, _ := strings.Cut(good, ".")
	later := keys.NewSession(time.Now().Add(2 * time.Hour))
	_, laterSig, _ := strings.Cut(later, ".")
	for name, v := range map[string]string{
		"no signature":            expiry,
		"empty signature":         expiry + ".",
		"garbage":                 "not-a-session",
		"another expiry's sig":    expiry + "." + laterSig,
		"a longer expiry":         "9" + good,
		"a flipped signature bit": flip(good),
		"not base64":              expiry + ".!!!",
	} {
		if rec := guarded(keys, "GET", v, nil); rec.Code != 401 || !strings.Contains(rec.Body.String(), "invalid_admin_token") {
			t.Errorf("%s (%q): got %d %s, want 401 invalid_admin_token", name, v, rec.Code, rec.Body)
		}
	}
}

// flip changes the signature's first character, which carries six bits of
// it (the last one carries only two, and bits past the signature's end).
func flip(v string) string {
	b := []byte(v)
	i := strings.IndexByte(v, '.') + 1
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// The same signature spelt with other bits past its end is not a session:
// one session has one spelling.
func TestSessionWithBitsPastTheSignatureIsRefused(t *testing.T) {
	keys := NewKeys("tok")
	for range 16 {
		good := keys.NewSession(time.Now().Add(time.Hour))
		last := good[len(good)-1]
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		pos := strings.IndexByte(alphabet, last)
		variant := good[:len(good)-1] + string(alphabet[pos^1])
		if keys.ValidSession(variant, time.Now()) {
			t.Fatalf("%q accepted beside %q", variant, good)
		}
	}
}

func TestExpiredSessionCookieIsRefused(t *testing.T) {
	keys := NewKeys("tok")
	expired := keys.NewSession(time.Now().Add(-time.Second))
	if rec := guarded(keys, "GET", expired, nil); rec.Code != 401 {
		t.Fatalf("expired session: got %d %s, want 401", rec.Code, rec.Body)
	}
	// A signature for more than SessionLifetime (a custos whose lifetime
	// was longer, a clock far off) is no longer than SessionLifetime.
	if keys.ValidSession(keys.NewSession(time.Now().Add(SessionLifetime+time.Hour)), time.Now()) {
		t.Fatal("a session signed past SessionLifetime was accepted")
	}
}

// Changing the admin token ends every session: their signatures were keyed
// by the old one.
func TestSessionCookieOfAnotherTokenIsRefused(t *testing.T) {
	old := NewKeys("old-token").NewSession(time.Now().Add(time.Hour))
	if rec := guarded(NewKeys("new-token"), "GET", old, nil); rec.Code != 401 {
		t.Fatalf("session of the old token: got %d %s, want 401", rec.Code, rec.Body)
	}
}

// A valid session does not let another site's page act: the browser sends
// SameSite=Strict cookies only to same-site requests, and the guard refuses
// cross-site ones and non-JSON changes whatever they carry.
func TestCrossSitePostWithAValidSessionIsRefused(t *testing.T) {
	keys := NewKeys("tok")
	value := keys.NewSession(time.Now().Add(time.Hour))
	cases := []struct {
		name   string
		header map[string]string
		status int
		code   string
	}{
		{"cross-site fetch", with(jsonCT, "Sec-Fetch-Site", "cross-site"), 403, "cross_site_refused"},
		{"foreign Origin", with(jsonCT, "Origin", "https://evil.example"), 403, "cross_site_refused"},
		{"a form post", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "json_required"},
	}
	for _, tc := range cases {
		if rec := guarded(keys, "POST", value, tc.header); rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.code) {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

// Without a token there is no session to sign, and a cookie does not
// widen the loopback rule.
func TestSessionCookieWithoutATokenIsNoKey(t *testing.T) {
	keys := NewKeys()
	if v := keys.NewSession(time.Now().Add(time.Hour)); v != "" {
		t.Fatalf("a session was signed without a token: %q", v)
	}
	forged := NewKeys("tok").NewSession(time.Now().Add(time.Hour))
	if rec := guarded(keys, "GET", forged, nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "admin_loopback_only") {
		t.Fatalf("a cookie from another host without a token: got %d %s, want 403 admin_loopback_only", rec.Code, rec.Body)
	}
}

// The login route needs no token (it carries one in its body) but keeps
// every other rule: another site's page cannot log the browser in, nor
// reach it without a token from another host.
func TestLoginRouteKeepsTheCrossSiteAndLoopbackRules(t *testing.T) {
	cases := []struct {
		name   string
		keys   *Keys
		remote string
		header map[string]string
		status int
		code   string
	}{
		{"token set, no credentials", NewKeys("tok"), "192.0.2.7:40000", jsonCT, 204, ""},
		{"cross-site", NewKeys("tok"), "192.0.2.7:40000", with(jsonCT, "Sec-Fetch-Site", "cross-site"), 403, "cross_site_refused"},
		{"a form", NewKeys("tok"), "192.0.2.7:40000", map[string]string{"Content-Type": "text/plain"}, 415, "json_required"},
		{"no token, loopback", NewKeys(), "127.0.0.1:40000", jsonCT, 204, ""},
		{"no token, another host", NewKeys(), "192.0.2.7:40000", jsonCT, 403, "admin_loopback_only"},
	}
	for _, tc := range cases {
		h := NewGuard(tc.keys).WrapLogin(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/admin/session", strings.NewReader(`{}`))
		r.RemoteAddr = tc.remote
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h(rec, r)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.code) {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

// DropSessionCookie takes the session cookie out of every Cookie line and
// keeps the rest as sent, a cookie whose name only begins like it too.
func TestDropSessionCookieKeepsEveryOtherCookie(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []string
	}{
		{in: nil, want: nil},
		{in: []string{"a=1; b=2"}, want: []string{"a=1; b=2"}},
		{in: []string{SessionCookie + "=x"}, want: nil},
		{in: []string{"a=1; " + SessionCookie + "=x;b=2"}, want: []string{"a=1; b=2"}},
		{in: []string{SessionCookie + "=x", "c=3"}, want: []string{"c=3"}},
		{in: []string{SessionCookie + "_theme=dark; " + SessionCookie + "=x"}, want: []string{SessionCookie + "_theme=dark"}},
		{in: []string{"note=" + SessionCookie}, want: []string{"note=" + SessionCookie}},
	} {
		h := http.Header{}
		for _, line := range c.in {
			h.Add("Cookie", line)
		}
		DropSessionCookie(h)
		if got := h.Values("Cookie"); !slices.Equal(got, c.want) {
			t.Errorf("Cookie %q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// A request let in by its session alone ends when the session does: an
// event stream opened with a session does not outlive it. One let in by
// the token has no such end.
func TestRequestLetInByASessionEndsWithIt(t *testing.T) {
	keys := NewKeys("tok")
	ended := make(chan time.Time, 1)
	h := NewGuard(keys).Wrap(func(w http.ResponseWriter, r *http.Request) {
		deadline, ok := r.Context().Deadline()
		if !ok {
			ended <- time.Time{}
			return
		}
		select {
		case <-r.Context().Done():
			ended <- deadline
		case <-time.After(10 * time.Second):
			ended <- time.Time{}
		}
	})
	expires := time.Now().Add(2 * time.Second)
	r := httptest.NewRequest("GET", "http://192.0.2.1:8080/admin/events", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: keys.NewSession(expires)})
	h(httptest.NewRecorder(), r)
	if got := receiveTime(t, ended); !got.Equal(time.Unix(expires.Unix(), 0)) {
		t.Fatalf("the request let in by a session ending at %v ended with deadline %v", time.Unix(expires.Unix(), 0), got)
	}

	r = httptest.NewRequest("GET", "http://192.0.2.1:8080/admin/events", nil)
	r.Header.Set("Authorization", "Bearer tok")
	h(httptest.NewRecorder(), r)
	if got := receiveTime(t, ended); !got.IsZero() {
		t.Fatalf("a request let in by the token got a deadline %v", got)
	}
}

func receiveTime(t *testing.T, ch <-chan time.Time) time.Time {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatal("the handler did not answer within 15s")
	}
	return time.Time{}
}

// DropSessionCookie runs on every forwarded request: one without a Cookie
// header, or without the session in it, costs no allocation.
func TestDropSessionCookieAllocatesNothingWithoutTheSession(t *testing.T) {
	plain := http.Header{"Content-Type": {"application/json"}}
	other := http.Header{"Cookie": {"theme=dark"}}
	if n := testing.AllocsPerRun(100, func() { DropSessionCookie(plain); DropSessionCookie(other) }); n != 0 {
		t.Fatalf("%v allocations per request without the session cookie", n)
	}
}
