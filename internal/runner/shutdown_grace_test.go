package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStopAnswersAnUnfinishedRequestWith503: a whole (not streamed) request still generating when the
// shutdown grace ends gets 503 in the OpenAI error shape, not a connection closed under it. Closing the
// connections raced with the handler's answer, so the stop is tried several times.
func TestStopAnswersAnUnfinishedRequestWith503(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint("stop ", i), func(t *testing.T) {
			status, body := stopMidAnswer(t, false)
			var e struct {
				Error struct {
					Code    int    `json:"code"`
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if status != http.StatusServiceUnavailable || json.Unmarshal(body, &e) != nil ||
				e.Error.Code != http.StatusServiceUnavailable || e.Error.Type != typeUnavailable || e.Error.Message == "" {
				t.Fatalf("status %d: %s; want 503 in the OpenAI error shape", status, body)
			}
		})
	}
}

// TestStopEndsAnUnfinishedStreamWithAnError: a stream still generating when the shutdown grace ends
// ends with an error event, not a connection closed under it.
func TestStopEndsAnUnfinishedStreamWithAnError(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint("stop ", i), func(t *testing.T) {
			_, body := stopMidAnswer(t, true)
			events := strings.Split(strings.TrimSpace(string(body)), "\n\n")
			last, _ := strings.CutPrefix(events[len(events)-1], "data: ")
			var e struct {
				Error *struct {
					Type string `json:"type"`
				} `json:"error"`
			}
			if json.Unmarshal([]byte(last), &e) != nil || e.Error == nil || e.Error.Type != typeUnavailable {
				t.Fatalf("the stream ended with %.300q, want an error event", last)
			}
		})
	}
}

// stopMidAnswer starts a runner, stops it while an answer (a stream when stream) is generating, and
// returns the status and body its client got.
func stopMidAnswer(t *testing.T, stream bool) (int, []byte) {
	t.Helper()
	base, stop, served := serveStoppable(t, 8192, 100*time.Millisecond)

	type answer struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		// Far more tokens than the grace lets it generate.
		resp, err := testClient.Post(base+"/completion", "application/json",
			strings.NewReader(fmt.Sprintf(`{"prompt":"go on","ignore_eos":true,"n_predict":8000,"stream":%v}`, stream)))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answered <- answer{status: resp.StatusCode, body: body, err: err}
	}()
	if err := waitGenerating(base, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()

	var a answer
	select {
	case a = <-answered:
		if a.err != nil {
			t.Fatalf("the request in flight got %v, want an answer", a.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the request in flight got no answer within 20s of the stop")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve returned %v after a stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after the stop")
	}
	return a.status, a.body
}

// waitGenerating polls /slots until a slot is processing, or fails after within.
func waitGenerating(base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := probeClient.Get(base + "/slots")
		if err == nil {
			var slots []struct {
				IsProcessing bool `json:"is_processing"`
			}
			decodeErr := json.NewDecoder(resp.Body).Decode(&slots)
			resp.Body.Close()
			for _, s := range slots {
				if decodeErr == nil && s.IsProcessing {
					return nil
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("no slot of the runner at %s started generating within %s", base, within)
}
