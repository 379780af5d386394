package browser

import (
	"testing"
	"time"
)

// What the page hides is not shown: the banner with no pause, and the
// dialog's fields an action does not ask for.
func TestHiddenPartsAreNotShown(t *testing.T) {
	c := startCustos(t, modelConfig(t, backends[0], ""))
	waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.waitJS("the stream live", 10*time.Second, `document.getElementById("conn").textContent === "live"`)
	if shown := eval[bool](b, "measuring the banner", `document.getElementById("banner").getClientRects().length > 0`); shown {
		t.Error("the pause banner shows while nothing is paused")
	}
	b.click("alpha's Restart", `button[data-key="alpha/restart"]`)
	b.waitJS("the restart dialog", 5*time.Second, `document.getElementById("confirm").open`)
	if shown := eval[bool](b, "measuring the reason field", `document.getElementById("confirm-reason-label").getClientRects().length > 0`); shown {
		t.Error("the restart dialog shows a reason field it does not send")
	}
	b.click("Cancel", `#confirm button[value="cancel"]`)
	b.waitJS("the dialog closed", 5*time.Second, `!document.getElementById("confirm").open`)
}
