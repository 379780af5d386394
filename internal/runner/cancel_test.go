package runner

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that goes away mid-stream must free its slot at once: the slot stops far short of the context
// it would otherwise fill (ignore_eos, no token limit).
func TestCancelledStreamFreesItsSlot(t *testing.T) {
	f := runnerFor(t, false)
	busy, cancel := f.openStream(t, `{"prompt":"go on forever","stream":true,"ignore_eos":true,"n_predict":-1}`)
	cancel()
	deadline := time.Now().Add(waitLimit)
	for {
		s := f.slots(t)[busy]
		if !s.IsProcessing {
			if s.NDecoded >= s.NCtx-s.NPrompt {
				t.Fatalf("slot %d decoded %d tokens, to the end of its context: cancellation did not free it", busy, s.NDecoded)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot %d still processing %v after the client left", busy, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openStream starts a streamed /completion, reads its first event, and returns the slot serving it and a
// function that disconnects the client.
func (f *fixture) openStream(t *testing.T, body string) (int, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/completion", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	// The stream lives as long as the test needs it; only the wait for its
	// first event is bounded, by cancelling the request.
	firstEvent := time.AfterFunc(waitLimit, cancel)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	if !firstEvent.Stop() {
		t.Fatalf("no first event within %v: %q %v", waitLimit, line, err)
	}
	if err != nil || !bytes.HasPrefix(line, []byte("data: {\"content\"")) {
		t.Fatalf("first event: %q %v", line, err)
	}
	for _, s := range f.slots(t) {
		if s.IsProcessing {
			return s.ID, cancel
		}
	}
	t.Fatalf("no slot processing the stream after its first event %s", line)
	return 0, nil
}

// waitIdle waits until no slot is processing.
func (f *fixture) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for f.metric(t, "llamacpp:requests_processing") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("requests still processing after %v", waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
