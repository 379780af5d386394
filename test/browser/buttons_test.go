package browser

import (
	"context"
	"testing"
	"time"

	"custos/internal/proctest"
)

// A status that changes nothing a row's buttons offer leaves those buttons
// in place: a button redrawn between a press and its release loses the
// click, and under traffic the status changes several times a second.
func TestStatusChangesKeepTheRowsButtons(t *testing.T) {
	c := startCustos(t, modelConfig(t, backends[0], ""))
	waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.waitJS("the stream live", 10*time.Second, `document.getElementById("conn").textContent === "live"`)
	eval[bool](b, "keeping alpha's buttons", `(window.kept = [...document.querySelectorAll('#models tr[data-model="alpha"] button')]).length > 0`)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r := proctest.Post(ctx, proctest.Client, c.URL("/admin/wellbeing"), `{"state":"cautious","reason":"a status change"}`); r.Status != 200 {
		t.Fatalf("wellbeing: %v", r)
	}
	b.waitJS("the new status on the page", 10*time.Second, `document.getElementById("wellbeing").textContent === "cautious"`)
	if !eval[bool](b, "looking for the kept buttons", `window.kept.every((button) => button.isConnected)`) {
		t.Fatal("a status that changed nothing alpha's row offers replaced its buttons")
	}
}
