package browser

import (
	"testing"
	"time"
)

// Load from the page: the row shows the model loading with a progress
// bar, and then ready.
func TestLoadFromThePageShowsProgress(t *testing.T) {
	c := startCustos(t, "models:\n  alpha:\n    backend: llama-server\n    cmd: "+bins.StandinCmd("--load-time", "3s")+
		"\n    load: on_demand\n    health_interval: 200ms\n    health_timeout: 150ms\n    stop_timeout: 5s\n")
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.waitJS("the row to say unloaded", 10*time.Second, rowState("alpha")+` === "unloaded"`)
	b.click("alpha's Load", `button[data-key="alpha/load"]`)
	b.waitJS("a progress bar in the loading row", 10*time.Second,
		rowState("alpha")+` === "loading" && !!document.querySelector('#models tr[data-model="alpha"] [role="progressbar"]')`)
	b.waitJS("the progress to rise", 10*time.Second,
		`Number((document.querySelector('#models tr[data-model="alpha"] [role="progressbar"]') || {getAttribute: () => 0}).getAttribute("aria-valuenow")) > 0`)
	b.waitJS("the row to say ready", 30*time.Second, rowState("alpha")+` === "ready"`)
	b.waitJS("the load's result", 5*time.Second, `document.getElementById("toasts").textContent.includes("Load alpha: done")`)
}
