package browser

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"custos/internal/proctest"
)

// The log view shows what the backend printed: the lines custos held from
// before the view opened, then lines printed while it is open.
func TestLogViewShowsBackendOutput(t *testing.T) {
	c := startCustos(t, modelConfig(t, backends[0], ""))
	m := waitReady(t, c, "alpha", nil)
	u, err := url.Parse(m.URL)
	if err != nil {
		t.Fatalf("backend URL %q: %v", m.URL, err)
	}
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.click("alpha's Logs button", `#models tr[data-model="alpha"] button[data-key="alpha/logs"]`)
	b.waitJS("the logs view", 5*time.Second, `!document.getElementById("view-logs").hidden`)
	held := "standin listening on " + u.Host
	b.waitJS("the held line "+held, 10*time.Second, fmt.Sprintf(`document.getElementById("logs").textContent.includes(%q)`, held))

	// The stand-in writes a line per request (--log-requests): one sent
	// now must appear in the open view.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r := proctest.Post(ctx, proctest.Client, c.URL("/v1/embeddings"), `{"model":"alpha","input":"live line"}`); r.Status != 200 {
		t.Fatalf("embeddings request: %v", r)
	}
	b.waitJS("the live line for the request", 10*time.Second, `document.getElementById("logs").textContent.includes("POST /v1/embeddings")`)
	b.waitJS("the stream marked live", 5*time.Second, `document.getElementById("logs-status").textContent.endsWith("live")`)
}
