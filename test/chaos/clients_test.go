package chaos

import (
	"strings"
	"sync"
	"time"
)

// clients is how many clients every scenario runs at once.
const clients = 32

// runClients runs n clients, each calling send in a loop until the
// deadline passes, and returns when every one has finished its last call.
func runClients(n int, until time.Time, send func(client int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(until) {
				send(i)
			}
		}()
	}
	wg.Wait()
}

// judgeChat counts a non-streaming chat reply: anything but a 200 with a
// choice is a failure.
func judgeChat(ta *tally, r reply) {
	ta.sent.Add(1)
	switch {
	case timedOut(r):
		ta.fail("hang (client timeout): " + r.String())
	case r.Err != nil || r.Status != 200 || !strings.Contains(string(r.Body), `"choices"`):
		ta.fail("non-streaming: " + r.String())
	default:
		ta.ok.Add(1)
	}
}

// judgeStream counts a streaming chat reply: it completes with
// `data: [DONE]`, or ends cleanly with a stream_interrupted error event;
// anything else, a hang above all, is a failure.
func judgeStream(ta *tally, r reply) {
	ta.sent.Add(1)
	body := string(r.Body)
	switch {
	case timedOut(r):
		ta.fail("hang (client timeout): " + r.String())
	case r.Err != nil || r.Status != 200:
		ta.fail("streaming: " + r.String())
	case strings.Contains(body, `"stream_interrupted"`):
		ta.interrupted.Add(1)
	case strings.Contains(body, "data: [DONE]"):
		ta.ok.Add(1)
	default:
		ta.fail("stream ended without [DONE] or an error event: " + r.String())
	}
}
