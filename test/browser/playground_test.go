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
	// Count the answer's text as it changes: a streamed answer changes
	// more than once before it is complete.
	eval[bool](b, "watching the answer", `(() => {
		window.answerUpdates = 0;
		new MutationObserver(() => { window.answerUpdates++; })
			.observe(document.getElementById("play-output"), {characterData: true, subtree: true, childList: true});
		return true;
	})()`)
	b.click("Send", "#play-send")
	b.waitJS("the answer to finish", 60*time.Second, `document.getElementById("play-timings").textContent.includes("total")`)
	answer := eval[string](b, "reading the answer", `document.getElementById("play-output").textContent`)
	timings := eval[string](b, "reading the timings", `document.getElementById("play-timings").textContent`)
	updates := eval[int](b, "reading the update count", `window.answerUpdates`)
	failed := eval[bool](b, "reading the error class", `document.getElementById("play-output").classList.contains("error")`)
	t.Logf("answer %q, timings %q, %d updates", answer, timings, updates)
	if failed || strings.TrimSpace(answer) == "" {
		t.Fatalf("no answer: %q (error shown: %v)", answer, failed)
	}
	if !strings.Contains(timings, "first token") {
		t.Fatalf("timings without the first token's: %q", timings)
	}
	if updates < 3 { // the first render, then at least two pieces of text
		t.Fatalf("the answer changed %d times: it did not stream", updates)
	}
}
