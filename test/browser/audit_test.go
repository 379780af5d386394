package browser

import (
	"context"
	"testing"
	"time"

	"custos/internal/proctest"
)

// The audit view pages through the log: the newest 20 first, then the
// older ones, and back.
func TestAuditViewPages(t *testing.T) {
	c := startCustos(t, modelConfig(t, backends[0], ""))
	waitReady(t, c, "alpha", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 11; i++ { // 22 events
		for _, path := range []string{"/admin/pause", "/admin/resume"} {
			if r := proctest.Post(ctx, proctest.Client, c.URL(path), `{"model":"alpha","reason":"audit page `+itoa(i)+`"}`); r.Status != 200 {
				t.Fatalf("%s: %v", path, r)
			}
		}
	}
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.click("the Audit tab", "#tab-audit")
	b.waitJS("the first page", 10*time.Second, `document.getElementById("audit-page").textContent === "1–20" && document.getElementById("audit-newer").disabled`)
	b.click("Older", "#audit-older")
	b.waitJS("the second page", 10*time.Second, `document.getElementById("audit-page").textContent === "21–22" && document.getElementById("audit-older").disabled`)
	b.waitJS("the oldest event last", 5*time.Second, `document.querySelector("#audit tbody tr:last-child").textContent.includes("audit page 0")`)
	b.click("Newer", "#audit-newer")
	b.waitJS("the first page again", 10*time.Second, `document.getElementById("audit-page").textContent === "1–20"`)
}
