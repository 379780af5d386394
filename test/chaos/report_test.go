package chaos

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// tally counts one scenario's requests; failures keep one example of each
// kind (by its first words) so a failing run says what went wrong.
type tally struct {
	sent, ok, failed atomic.Int64
	// interrupted counts streams that ended with a stream_interrupted
	// error event: a clean end, counted apart from ok and failed.
	interrupted atomic.Int64

	mu       sync.Mutex
	examples []string
}

const maxExamples = 5

func (ta *tally) fail(what string) {
	ta.failed.Add(1)
	ta.mu.Lock()
	defer ta.mu.Unlock()
	kind := what[:min(len(what), 24)]
	for _, e := range ta.examples {
		if strings.HasPrefix(e, kind) {
			return
		}
	}
	if len(ta.examples) < maxExamples {
		ta.examples = append(ta.examples, what)
	}
}

func (ta *tally) failures() []string {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return append([]string(nil), ta.examples...)
}

// report logs the scenario's figures and, when CUSTOS_CHAOS_REPORT names a
// file, appends them to it as a Markdown table row (the header first when
// the file is empty). "retried" is custos's own custos_retries_total.
func report(t *testing.T, ta *tally, retried int, note string) {
	t.Helper()
	t.Logf("%s: sent %d, ok %d, retried %d, failed %d, streams interrupted %d; %s",
		t.Name(), ta.sent.Load(), ta.ok.Load(), retried, ta.failed.Load(), ta.interrupted.Load(), note)
	path := os.Getenv("CUSTOS_CHAOS_REPORT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("CUSTOS_CHAOS_REPORT: %v", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() == 0 {
		fmt.Fprintf(f, "| scenario | sent | ok | retried | failed | streams interrupted | notes |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	}
	if _, err := fmt.Fprintf(f, "| %s | %d | %d | %d | %d | %d | %s |\n",
		t.Name(), ta.sent.Load(), ta.ok.Load(), retried, ta.failed.Load(), ta.interrupted.Load(), note); err != nil {
		t.Fatalf("CUSTOS_CHAOS_REPORT: %v", err)
	}
}
