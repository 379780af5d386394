package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// waiting is how many requests the memory scenario holds at once.
const waiting = 1000

// memory: custos's resident memory idle, with 1,000 requests held by a
// pause, and with 1,000 requests queued for a busy model; and the time
// from resume until the held requests are all on their way.
func memory(o *options, rep *report) error {
	s := &section{
		title:  "custos's own memory (RSS; the backend is a separate process and not counted)",
		header: []string{"state", "RSS", "per waiting request", "target"},
	}
	yaml, err := standinBackend.model(o, "    max_concurrency: 4\n    queue_max: 2048\n    queue_timeout: 5m\n"+
		"intervention: {enabled: true, wait_timeout: 5m, max_pause: 10m}\n")
	if err != nil {
		return err
	}
	err = withCustos(o, yaml, func(c *custosProc, _ modelStatus) error {
		time.Sleep(time.Second)
		idle, err := rss(c.cmd.Process.Pid)
		if err != nil {
			return err
		}
		s.row("idle, one model ready", mib(idle), "", "≤ 30 MB: "+verdict(idle <= 30_000_000))
		if err := c.admin("/admin/pause", `{"reason":"bench"}`); err != nil {
			return err
		}
		held := startWaiting("http://" + c.addr)
		if err := c.waitFor("1,000 requests held by the pause", time.Minute, func() bool {
			st, err := c.status()
			return err == nil && st.Intervention != nil && st.Intervention.Counters.RequestsWaiting == waiting
		}); err != nil {
			return err
		}
		during, err := rss(c.cmd.Process.Pid)
		if err != nil {
			return err
		}
		s.row(fmt.Sprintf("%d requests held by a pause", waiting), mib(during), fmt.Sprintf("%.1f KiB", float64(during-idle)/waiting/1024), "")
		resumedAt := time.Now()
		if err := c.admin("/admin/resume", `{}`); err != nil {
			return err
		}
		if err := c.waitFor("the pause to let every request go", time.Minute, func() bool {
			st, err := c.status()
			return err == nil && st.Intervention != nil && st.Intervention.Counters.RequestsWaiting == 0
		}); err != nil {
			return err
		}
		released := time.Since(resumedAt)
		ok, failed := held.wait()
		if failed > 0 {
			return fmt.Errorf("%d of the held requests failed after resume (%d ok)", failed, ok)
		}
		s.note("Resume → /status shows none of the %d held requests waiting: %v (seen by polling /status every millisecond; `go test -bench Resume ./internal/intervention` times the release itself). All %d then completed with 200.",
			waiting, released.Round(100*time.Microsecond), ok)
		return nil
	})
	if err != nil {
		return err
	}

	yaml, err = standinBackend.model(o, "    max_concurrency: 4\n    queue_max: 2048\n    queue_timeout: 5m\n", "--response-delay", "5m")
	if err != nil {
		return err
	}
	err = withCustos(o, yaml, func(c *custosProc, _ modelStatus) error {
		time.Sleep(time.Second)
		idle, err := rss(c.cmd.Process.Pid)
		if err != nil {
			return err
		}
		queued := startWaiting("http://" + c.addr)
		if err := c.waitFor("1,000 requests queued", time.Minute, func() bool {
			m, err := c.model("tiny")
			return err == nil && m.Queued >= waiting-4
		}); err != nil {
			return err
		}
		during, err := rss(c.cmd.Process.Pid)
		if err != nil {
			return err
		}
		s.row(fmt.Sprintf("%d requests queued behind a busy model (4 in flight)", waiting), mib(during), fmt.Sprintf("%.1f KiB", float64(during-idle)/waiting/1024), "")
		queued.cancel()
		queued.wait()
		if err := c.waitFor("the queue to empty after the clients left", time.Minute, func() bool {
			m, err := c.model("tiny")
			return err == nil && m.Queued == 0 && m.InFlight == 0
		}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.note("Per waiting request: (RSS with them − idle RSS) ÷ %d; it includes each connection's buffers and its goroutine's stack in custos.", waiting)
	rep.add(s)
	return nil
}

// waiters are requests sent at once that the bench then waits for.
type waiters struct {
	wg         sync.WaitGroup
	cancel     context.CancelFunc
	ok, failed atomic.Int64
}

// startWaiting sends the waiting number of chat requests to base at once,
// each on its own connection.
func startWaiting(base string) *waiters {
	ctx, cancel := context.WithCancel(context.Background())
	w := &waiters{cancel: cancel}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: waiting, DisableCompression: true}}
	body := newLoadClient(16).body
	for range waiting {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			l := &loadClient{http: client, body: body}
			if _, err := l.chat(ctx, base); err != nil {
				w.failed.Add(1)
			} else {
				w.ok.Add(1)
			}
		}()
	}
	return w
}

func (w *waiters) wait() (ok, failed int64) {
	w.wg.Wait()
	w.cancel()
	return w.ok.Load(), w.failed.Load()
}
