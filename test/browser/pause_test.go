package browser

import (
	"strings"
	"testing"
	"time"

	"custos/internal/proctest"
)

// Pause from the page holds a request a client sent meanwhile, the banner
// says why and who paused, and resume from the page releases the request.
func TestPauseFromThePageHoldsARequest(t *testing.T) {
	c := startCustos(t, modelConfig(t, backends[0], ""))
	waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")

	b.click("Pause all", "#pause-all")
	b.typeInto("the reason", "#confirm-reason", "disk swap")
	b.click("the dialog's Pause", "#confirm-ok")
	b.waitJS("the banner", 10*time.Second,
		`!document.getElementById("banner").hidden && document.getElementById("banner").textContent.includes("disk swap")`)
	var iv intervention
	getJSON(t, c, "/admin/intervention", nil, &iv)
	if iv.State.Global == nil || iv.State.Global.Reason != "disk swap" {
		t.Fatalf("after Pause all on the page custos is not paused with its reason: %+v", iv.State)
	}

	reply := sendHeldRequest(t, c)
	b.waitJS("the held request on the page", 5*time.Second, `document.getElementById("pause-detail").textContent.startsWith("1 held")`)

	b.click("Resume all", "#resume-all")
	r := proctest.Receive(t, "the held request to be answered after Resume all", 10*time.Second, reply)
	if r.Err != nil || r.Status != 200 || !strings.Contains(string(r.Body), "choices") {
		t.Fatalf("released request: %v", r)
	}
	b.waitJS("the banner to go", 10*time.Second, `document.getElementById("banner").hidden`)
}

type intervention struct {
	State struct {
		Global *struct{ Reason, By string }
	}
	Counters struct {
		RequestsWaiting int `json:"requests_waiting"`
	}
}
