package browser

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The page works from the keyboard: arrow keys move between the views, a
// focused button opens its dialog with Enter, and Escape closes it
// without acting.
func TestPageIsKeyboardUsable(t *testing.T) {
	c := startCustos(t, modelConfig(t, backends[0], ""))
	waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")

	b.run("focusing the Overview tab", 5*time.Second, chromedp.Focus(chromedp.CSS("#tab-overview")))
	b.run("pressing the right arrow", 5*time.Second, chromedp.KeyEvent(kb.ArrowRight))
	b.waitJS("the logs view", 5*time.Second, `!document.getElementById("view-logs").hidden && document.activeElement.id === "tab-logs"`)
	b.run("pressing End", 5*time.Second, chromedp.KeyEvent(kb.End))
	b.waitJS("the playground view", 5*time.Second, `!document.getElementById("view-playground").hidden`)
	b.run("pressing Home", 5*time.Second, chromedp.KeyEvent(kb.Home))
	b.waitJS("the overview again", 5*time.Second, `!document.getElementById("view-overview").hidden`)

	b.run("focusing Pause all", 5*time.Second, chromedp.Focus(chromedp.CSS("#pause-all")))
	b.run("pressing Enter", 5*time.Second, chromedp.KeyEvent(kb.Enter))
	b.waitJS("the pause dialog, its reason focused", 5*time.Second,
		`document.getElementById("confirm").open && document.activeElement.id === "confirm-reason"`)
	b.run("pressing Escape", 5*time.Second, chromedp.KeyEvent(kb.Escape))
	b.waitJS("the dialog closed", 5*time.Second, `!document.getElementById("confirm").open`)
	var iv intervention
	getJSON(t, c, "/admin/intervention", nil, &iv)
	if iv.State.Global != nil {
		t.Fatalf("Escape paused custos: %+v", iv.State.Global)
	}
}
