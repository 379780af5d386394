package browser

import (
	"strings"
	"testing"
	"time"
)

// The page loads on the stand-in and on the runner with no exception, no
// console error and no failed load (a CSP violation included), and shows
// the model, the gate and the live stream's state.
func TestPageLoadsWithoutConsoleErrors(t *testing.T) { forEachBackend(t, testPageLoads) }

func testPageLoads(t *testing.T, be backend) {
	c := startCustos(t, modelConfig(t, be, ""))
	waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.waitJS("the row to say ready", 10*time.Second, rowState("alpha")+` === "ready"`)
	t.Logf("the page showed custos's status %.0f ms after its navigation began (the page's own clock)",
		eval[float64](b, "reading the page's mark", `performance.getEntriesByName("custos:first-status")[0].startTime`))
	b.waitJS("the event stream to be live", 10*time.Second, `document.getElementById("conn").textContent === "live"`)
	b.waitJS("the gate to be shown open", 5*time.Second, `document.getElementById("gate-state").textContent === "open"`)
	b.waitJS("a chart drawn", 5*time.Second, `document.getElementById("chart-rps").width > 0`)
	for _, tab := range []string{"logs", "audit", "playground", "overview"} {
		b.click(tab+" tab", "#tab-"+tab)
		b.waitJS(tab+" view shown", 5*time.Second, `!document.getElementById("view-`+tab+`").hidden`)
	}
	// Give the views' own requests (log stream, audit page) the time to
	// answer, then look at what the page reported.
	b.waitJS("the audit table filled", 5*time.Second, `document.querySelector("#audit tbody tr") !== null`)
	// Loaded again, as an operator reopens it: the files revalidated (304).
	b.open(c, "alpha")
	t.Logf("loaded again, it showed the status %.0f ms after its navigation began",
		eval[float64](b, "reading the page's mark", `performance.getEntriesByName("custos:first-status")[0].startTime`))
	if errs := b.Errors(); len(errs) > 0 {
		t.Fatalf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
