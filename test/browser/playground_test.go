package browser

import (
	"strings"
	"testing"
	"time"
)

// The playground sends a chat message with stream:true and the answer
// appears piece by piece, with its timings, on the stand-in and on the
// runner.
func TestPlaygroundStreamsAnAnswer(t *testing.T) { forEachBackend(t, testPlaygroundStreams) }

func testPlaygroundStreams(t *testing.T, be backend) {
	c := startCustos(t, modelConfig(t, be, ""))
	waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.click("the Playground tab", "#tab-playground")
	b.typeInto("the message", "#play-input", "Tell me a story.")
	b.typeInto("max tokens", "#play-max", "16")
	// Watch the answer's text: each piece of a stream is added on its own
	// (a text change), and pieces that arrive apart are shown apart (text
	// changes seen by different observer calls).
	eval[bool](b, "watching the answer", `(() => {
		window.textChanges = 0;
		window.textBatches = 0;
		new MutationObserver((records) => {
			const n = records.filter((r) => r.type === "characterData").length;
			window.textChanges += n;
			if (n > 0) window.textBatches++;
		}).observe(document.getElementById("play-output"), {characterData: true, subtree: true, childList: true});
		return true;
	})()`)
	b.click("Send", "#play-send")
	b.waitJS("the answer to finish", 60*time.Second, `document.getElementById("play-timings").textContent.includes("total")`)
	answer := eval[string](b, "reading the answer", `document.getElementById("play-output").textContent`)
	timings := eval[string](b, "reading the timings", `document.getElementById("play-timings").textContent`)
	changes := eval[int](b, "reading the text changes", `window.textChanges`)
	batches := eval[int](b, "reading the text batches", `window.textBatches`)
	failed := eval[bool](b, "reading the error class", `document.getElementById("play-output").classList.contains("error")`)
	t.Logf("answer %q, timings %q, %d text changes in %d batches", answer, timings, changes, batches)
	if failed || strings.TrimSpace(answer) == "" {
		t.Fatalf("no answer: %q (error shown: %v)", answer, failed)
	}
	if !strings.Contains(timings, "first token") {
		t.Fatalf("timings without the first token's: %q", timings)
	}
	if changes < 2 {
		t.Fatalf("the answer's text changed %d times: it was not shown piece by piece", changes)
	}
	// The stand-in sends its pieces 40 ms apart (--chunk-interval), so they
	// reach the page apart; the runner may send them faster than the page
	// reads.
	if be.name == "standin" && batches < 2 {
		t.Fatalf("the stand-in's paced pieces were shown in %d batch(es): the page did not stream them", batches)
	}
}
