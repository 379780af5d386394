package runner

import (
	"context"
	"fmt"
	"math"
	"time"
)

// defaultSSEPingInterval is llama-server's --sse-ping-interval default.
const defaultSSEPingInterval = 30 * time.Second

// ssePing is llama-server's keep-alive: an SSE comment line, which every client skips.
const ssePing = ":\n\n"

// pingInterval is how long a stream may stay silent before it sends a ping: the request's
// sse_ping_interval in seconds when it gives one (-1 or 0: no pings, as llama-server reads it), else the
// server's --sse-ping-interval. 0 means no pings.
func (s *Server) pingInterval(requested *int) (time.Duration, *apiError) {
	if requested == nil {
		return max(s.cfg.SSEPingInterval, 0), nil
	}
	if *requested < -1 || *requested > math.MaxInt32 {
		return 0, badRequest("\"sse_ping_interval\" must be between -1 and %d, got %d", math.MaxInt32, *requested)
	}
	return time.Duration(max(*requested, 0)) * time.Second, nil
}

// pinger waits for a streaming task's next event and pings the client while none comes, so that clients and
// proxies that drop a connection silent for a while (undici's body timeout, nginx's proxy_read_timeout)
// keep it through a long prompt or a slow reasoning model. Its one timer serves the whole stream.
type pinger struct {
	out   *sse
	every time.Duration
	timer *time.Timer
}

func newPinger(out *sse, every time.Duration) *pinger {
	return &pinger{out: out, every: every}
}

// next is nextEvent with pings: false means the client went away, before or during a ping.
func (p *pinger) next(ctx context.Context, t *task) (event, bool) {
	if p.every <= 0 {
		return nextEvent(ctx, t)
	}
	select {
	case ev := <-t.events:
		return ev, true
	default:
	}
	if p.timer == nil {
		p.timer = time.NewTimer(p.every)
	} else {
		p.timer.Reset(p.every)
	}
	defer p.timer.Stop()
	for {
		select {
		case ev := <-t.events:
			return ev, true
		case <-ctx.Done():
			return event{}, false
		case <-p.timer.C:
			if _, err := fmt.Fprint(p.out.w, ssePing); err != nil || p.out.flush() != nil {
				return event{}, false
			}
			p.timer.Reset(p.every)
		}
	}
}
