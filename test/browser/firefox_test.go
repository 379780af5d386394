package browser

import (
	"strings"
	"testing"
	"time"

	"custos/internal/proctest"
)

// The dashboard works in Firefox too: on the stand-in, the page renders the
// model's row from the live event stream with no uncaught error or
// console error, and pause from the page holds a request a client sent
// meanwhile until resume from the page releases it.
func TestFirefoxShowsTheModelsAndPausesInference(t *testing.T) {
	c := startCustos(t, modelConfig(t, backends[0], ""))
	waitReady(t, c, "alpha", nil)
	f := newFirefox(t)
	f.navigate(c.URL("/"))
	f.waitJS("the event stream to be live", 10*time.Second, `document.getElementById("conn").textContent === "live"`)
	f.waitJS("alpha's row to say ready", 10*time.Second, rowState("alpha")+` === "ready"`)

	f.click("Pause all", "#pause-all")
	f.waitJS("the pause dialog", 5*time.Second, `document.getElementById("confirm").open`)
	f.typeInto("the reason", "#confirm-reason", "firefox pause")
	f.click("the dialog's Pause", "#confirm-ok")
	f.waitJS("the banner", 10*time.Second,
		`!document.getElementById("banner").hidden && document.getElementById("banner").textContent.includes("firefox pause")`)

	reply := sendHeldRequest(t, c)
	f.waitJS("the held request on the page", 5*time.Second, `document.getElementById("pause-detail").textContent.startsWith("1 held")`)

	f.click("Resume all", "#resume-all")
	r := proctest.Receive(t, "the held request to be answered after Resume all in Firefox", 10*time.Second, reply)
	if r.Err != nil || r.Status != 200 || !strings.Contains(string(r.Body), "choices") {
		t.Fatalf("released request: %v", r)
	}
	f.waitJS("the banner to go", 10*time.Second, `document.getElementById("banner").hidden`)

	if errs := f.errors(c.URL("/")); len(errs) > 0 {
		t.Fatalf("Firefox reported errors from the page:\n%s", strings.Join(errs, "\n"))
	}

	// The check above can fail: an error planted in the page now is seen.
	f.script("planting an error", `setTimeout(() => { throw new Error("planted by the test"); });`)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(strings.Join(f.errors(c.URL("/")), "\n"), "planted by the test") {
		if time.Now().After(deadline) {
			t.Fatalf("an error planted in the page was not reported within 5s; Firefox's output:\n%s", proctest.Tail(f.output.String(), 3000))
		}
		time.Sleep(25 * time.Millisecond)
	}
}
