package fleet

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"custos/internal/proctest"
)

// inferenceClient bounds each request of the load: long enough for one
// held by a short pause or retried on another host, short enough that a
// request lost to a dead peer is a failure, not a hung test.
var inferenceClient = &http.Client{Timeout: 15 * time.Second}

// maxRequests bounds a scenario's load; a scenario sends a few thousand
// at most.
const maxRequests = 10000

// tally counts a load's requests and why those that failed did.
type tally struct {
	sent, ok, failed atomic.Int64
	mu               sync.Mutex
	reasons          map[string]int
}

func (l *tally) fail(why string) {
	l.failed.Add(1)
	l.mu.Lock()
	l.reasons[why]++
	l.mu.Unlock()
}

func (l *tally) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var why []string
	for r, n := range l.reasons {
		why = append(why, fmt.Sprintf("%d× %s", n, r))
	}
	sort.Strings(why)
	s := fmt.Sprintf("sent %d, ok %d, failed %d", l.sent.Load(), l.ok.Load(), l.failed.Load())
	if len(why) > 0 {
		s += " (" + strings.Join(why, "; ") + ")"
	}
	return s
}

// run is a load in progress.
type run struct {
	*tally
	stop func() *tally
}

// load sends chat completions to the given gateways from workers
// goroutines, round robin, until stop is called or max requests were
// sent; stop waits for the requests in flight and returns the tally.
func load(t *testing.T, targets func() []*node, workers, max int) *run {
	l := &tally{reasons: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				n := next.Add(1)
				if n > int64(max) {
					return
				}
				ts := targets()
				g := ts[int(n)%len(ts)]
				l.sent.Add(1)
				body := fmt.Sprintf(`{"model":%q,"max_tokens":4,"messages":[{"role":"user","content":"worker %d request %d"}]}`, model, w, i)
				r := proctest.Post(context.Background(), inferenceClient, g.url("/v1/chat/completions"), body)
				switch {
				case r.Err != nil:
					l.fail(g.name + ": " + shortErr(r.Err))
				case r.Status != http.StatusOK:
					l.fail(fmt.Sprintf("%s: %d %s", g.name, r.Status, r.ErrorCode()))
				default:
					l.ok.Add(1)
				}
			}
		}()
	}
	stopped := false
	stop := func() *tally {
		if stopped {
			return l
		}
		stopped = true
		cancel()
		select {
		case <-proctest.Done(&wg):
		case <-time.After(30 * time.Second):
			t.Fatal("load: requests still in flight 30s after stop, past their client timeout")
		}
		return l
	}
	t.Cleanup(func() { stop() })
	return &run{tally: l, stop: stop}
}

// shortErr is an error without the URL net/http puts in front of it.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// allOf is a target list that never changes.
func allOf(nodes []*node) func() []*node { return func() []*node { return nodes } }

// answered waits until the load has answered n more requests than
// before, so a scenario acts while requests flow and sees them flow again.
func (r *run) answered(t *testing.T, n int64, within time.Duration) {
	t.Helper()
	base := r.ok.Load()
	eventually(t, fmt.Sprintf("%d more requests answered", n), within, func() bool { return r.ok.Load()-base >= n })
}
