package runner

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A stream with an X-Conversation-Id keeps generating after its client leaves, and only DELETE /v1/stream
// (or the end of its generation) frees its slot.
func TestAResumableStreamOutlivesItsClientUntilStopped(t *testing.T) {
	f := runnerFor(t, false)
	const conv = "runner-resumable"
	ctx, leave := context.WithTimeout(context.Background(), waitLimit)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/completion",
		strings.NewReader(`{"prompt":"go on forever","stream":true,"ignore_eos":true,"n_predict":-1}`))
	req.Header.Set("X-Conversation-Id", conv)
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first event %q, %v", line, err)
	}
	leave()
	resp.Body.Close()
	busy := -1
	for _, s := range f.slots(t) {
		if s.IsProcessing {
			busy = s.ID
		}
	}
	if busy < 0 {
		t.Fatal("no slot processing the stream after its first event")
	}
	// Long after a plain stream's slot would be free (TestCancelledStreamFreesItsSlot), this one still
	// decodes: it must have passed the tokens it had when the client left.
	start := f.slots(t)[busy].NDecoded
	deadline := time.Now().Add(waitLimit)
	for f.slots(t)[busy].NDecoded < start+256 {
		if !f.slots(t)[busy].IsProcessing {
			t.Fatalf("slot %d stopped after %d tokens when its client left: the stream did not outlive it", busy, f.slots(t)[busy].NDecoded)
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot %d decoded no 256 more tokens within %v", busy, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop, _ := http.NewRequest(http.MethodDelete, f.base+"/v1/stream?conv_id="+conv, nil)
	sresp, err := testClient.Do(stop)
	if err != nil {
		t.Fatal(err)
	}
	sresp.Body.Close()
	if sresp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /v1/stream answered %d, want 204", sresp.StatusCode)
	}
	f.waitIdle(t)
	if s := f.slots(t)[busy]; s.NDecoded >= s.NCtx-s.NPrompt {
		t.Fatalf("slot %d decoded to the end of its context: DELETE did not stop it", busy)
	}
}
