package browser

import (
	"testing"
	"time"

	"custos/internal/proctest"
)

// The page's stream reconnects by itself after custos restarts: it says
// "reconnecting" while custos is down and shows the new process's state
// once it is back, without a reload.
func TestPageReconnectsAfterCustosRestarts(t *testing.T) {
	cfgPath := proctest.WriteConfig(t, t.TempDir(), "warn", modelConfig(t, backends[0], ""))
	c := proctest.Start(t, bins.Custos, cfgPath)
	first := waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.waitJS("the event stream to be live", 10*time.Second, `document.getElementById("conn").textContent === "live"`)
	eval[bool](b, "marking the page", `window.notReloaded = true`)

	c.Stop()
	b.waitJS("the page to say it is reconnecting", 10*time.Second, `document.getElementById("conn").textContent === "reconnecting"`)
	again := proctest.Start(t, bins.Custos, cfgPath)
	second := waitReady(t, again, "alpha", nil)
	if second.PID == first.PID {
		t.Fatalf("the restarted custos reports the old backend (pid %d)", first.PID)
	}
	b.waitJS("the stream live again", 20*time.Second, `document.getElementById("conn").textContent === "live"`)
	b.waitJS("the new backend's pid on the page", 10*time.Second,
		`document.querySelector('#models tr[data-model="alpha"]').textContent.includes("pid `+itoa(second.PID)+`")`)
	if !eval[bool](b, "reading the mark", `window.notReloaded === true`) {
		t.Fatal("the page was reloaded; it must reconnect by itself")
	}
}
