package browser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custos/internal/proctest"
)

// A log view whose model is gone after custos restarted with another
// configuration says why, instead of reconnecting for ever.
func TestLogViewOfAModelGoneAfterARestartSaysWhy(t *testing.T) {
	cfgPath := proctest.WriteConfig(t, t.TempDir(), "warn", modelConfig(t, backends[0], ""))
	c := proctest.Start(t, bins.Custos, cfgPath)
	waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.click("alpha's Logs button", `button[data-key="alpha/logs"]`)
	b.waitJS("the log stream live", 10*time.Second, `document.getElementById("logs-status").textContent === "alpha: live"`)

	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(t.TempDir(), "renamed.yaml")
	if err := os.WriteFile(renamed, []byte(strings.Replace(string(data), "  alpha:\n", "  beta:\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	again := proctest.Start(t, bins.Custos, renamed)
	waitReady(t, again, "beta", nil)
	b.waitJS("the log view to say alpha is gone", 20*time.Second,
		`document.getElementById("logs-status").textContent.includes("no model named alpha")`)
}
