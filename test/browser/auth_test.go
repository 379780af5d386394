package browser

import (
	"strings"
	"testing"
	"time"
)

// With an admin token configured, the page loads but its data and actions
// are refused without a session: a fetch without it is 401, the page asks
// for the token, refuses a wrong one, and once the right one is entered the
// action works; the token lives only in the HttpOnly session cookie.
func TestActionWithoutTheTokenIsRefused(t *testing.T) {
	const token = "browser-test-admin-token"
	t.Setenv("CUSTOS_TEST_ADMIN_TOKEN", token)
	c := startCustos(t, "admin: {token_env: CUSTOS_TEST_ADMIN_TOKEN}\n"+modelConfig(t, backends[0], ""))
	bearer := map[string]string{"Authorization": "Bearer " + token}
	waitReady(t, c, "alpha", bearer)

	b := newBrowser(t, 1280, 900)
	b.run("loading the dashboard", 10*time.Second, navigate(c.URL("/ui")))
	b.waitJS("the token prompt", 10*time.Second, `document.getElementById("login").open`)
	status := eval[int](b, "a pause without the session", `fetch("/admin/pause", {method: "POST",
		headers: {"Content-Type": "application/json"}, body: JSON.stringify({reason: "no session"})}).then(r => r.status)`)
	if status != 401 {
		t.Fatalf("POST /admin/pause from the page without a session: %d, want 401", status)
	}

	b.typeInto("a wrong token", "#login-token", "not-the-token")
	b.click("Sign in", "#login-submit")
	b.waitJS("the wrong token refused", 10*time.Second, `document.getElementById("login-error").textContent.includes("not custos's admin token")`)

	b.typeInto("the token", "#login-token", token)
	b.click("Sign in", "#login-submit")
	b.waitJS("the prompt to close", 10*time.Second, `!document.getElementById("login").open`)
	b.waitJS("the models after signing in", 10*time.Second, `!!document.querySelector('#models tr[data-model="alpha"]')`)
	b.waitJS("the event stream to be live", 10*time.Second, `document.getElementById("conn").textContent === "live"`)

	b.click("alpha's Pause", `button[data-key="alpha/pause"]`)
	b.typeInto("the reason", "#confirm-reason", "signed in")
	b.click("the dialog's Pause", "#confirm-ok")
	c.Eventually("alpha paused by the signed-in page", 10*time.Second, func() bool {
		var iv struct {
			State struct {
				Models map[string]struct{ Reason string }
			}
		}
		getJSON(t, c, "/admin/intervention", bearer, &iv)
		return iv.State.Models["alpha"].Reason == "signed in"
	})

	stored := eval[string](b, "reading what the page can read", `JSON.stringify([document.cookie, localStorage.length, sessionStorage.length])`)
	if stored != `["",0,0]` || strings.Contains(stored, token) {
		t.Fatalf("the page can read what it stored: %s (the session must live only in the HttpOnly cookie)", stored)
	}
}
