package standin

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// waitLimit bounds every wait of these tests; generous because the
// machines running them are shared and noisy.
const waitLimit = 20 * time.Second

// testClient is for the tests' requests that must be answered: a server
// that stops answering fails the request instead of hanging the test.
var testClient = &http.Client{Timeout: waitLimit}

// exitRecorder replaces os.Exit in in-process tests.
type exitRecorder chan int

func (e exitRecorder) exit(code int) {
	select {
	case e <- code:
	default:
	}
}

// waitExit returns the recorded exit code, failing after a generous deadline.
func (e exitRecorder) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-e:
		return code
	case <-time.After(waitLimit):
		t.Fatalf("no exit within %v", waitLimit)
		return 0
	}
}

// startInProcess runs a Server behind httptest and returns its URL and exits.
func startInProcess(t *testing.T, o Options) (string, exitRecorder) {
	t.Helper()
	exits := make(exitRecorder, 1)
	o.Exit = exits.exit
	o.Stdout, o.Stderr = io.Discard, io.Discard
	s := New(o)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return ts.URL, exits
}

func post(t *testing.T, c *http.Client, url, body string) (*http.Response, error) {
	t.Helper()
	if c == nil {
		c = testClient
	}
	return c.Post(url, "application/json", strings.NewReader(body))
}

func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decoding body: %v", err)
	}
	return m
}

// readEvents reads "data: ..." payloads until the body ends or fails.
func readEvents(body io.Reader) []string {
	var events []string
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, data)
		}
	}
	return events
}

// eventually polls cond every few ms until it holds or waitLimit passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
