package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"custos/internal/proctest"
)

// login opens a session with token and returns the cookie's value.
func (c *custos) login(t *testing.T, token string) string {
	t.Helper()
	resp, err := proctest.Client.Post(c.URL("/admin/session"), "application/json", strings.NewReader(`{"token":"`+token+`"}`))
	if err != nil {
		t.Fatalf("POST /admin/session: %v", err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "custos_session" && resp.StatusCode == http.StatusNoContent {
			return ck.Value
		}
	}
	t.Fatalf("POST /admin/session: %d, cookies %v; want 204 and custos_session", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	return ""
}

// withSession is GET path's status with the session cookie alone.
func (c *custos) withSession(t *testing.T, path, session string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", c.URL(path), nil)
	req.AddCookie(&http.Cookie{Name: "custos_session", Value: session})
	resp, err := proctest.Client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A session outlives the custos that opened it (nothing is stored: the
// cookie is signed with a key derived from the admin token), and dies with
// the token: the same cookie is refused once the token is changed.
func TestSessionSurvivesARestartAndDiesWithTheToken(t *testing.T) {
	t.Setenv("CUSTOS_E2E_ADMIN_TOKEN", "first-token")
	cfg := writeConfig(t, t.TempDir(), "admin: {token_env: CUSTOS_E2E_ADMIN_TOKEN}\nmodels:\n"+fastModel("tiny", standinCmd(), ""))
	c := startCustosConfig(t, cfg)
	session := c.login(t, "first-token")
	if got := c.withSession(t, "/status", session); got != 200 {
		t.Fatalf("/status with the session: %d, want 200", got)
	}
	c.Stop()

	c = startCustosConfig(t, cfg)
	if got := c.withSession(t, "/status", session); got != 200 {
		t.Fatalf("/status with the session after a restart: %d, want 200", got)
	}
	events := proctest.OpenEventsWith(t, c.URL("/admin/events"), func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "custos_session", Value: session})
	})
	events.Until("status", 10*time.Second, nil)
	events.Close()
	c.Stop()

	t.Setenv("CUSTOS_E2E_ADMIN_TOKEN", "second-token")
	c = startCustosConfig(t, cfg)
	if got := c.withSession(t, "/status", session); got != 401 {
		t.Fatalf("/status with a session of the old token: %d, want 401", got)
	}
	if got := c.withSession(t, "/status", c.login(t, "second-token")); got != 200 {
		t.Fatalf("/status with a session of the new token: %d, want 200", got)
	}
}
