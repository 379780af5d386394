package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"custos/internal/quickack"
)

// scenario is one named measurement; -only selects by name.
type scenario struct {
	name string
	run  func(o *options, rep *report) error
}

func scenarios() []scenario {
	var list []scenario
	for _, b := range []backend{standinBackend, runnerBackend} {
		list = append(list,
			scenario{b.name + "/latency", func(o *options, r *report) error { return latency(o, r, sized(o, b)) }},
			scenario{b.name + "/throughput", func(o *options, r *report) error { return throughputs(o, r, sized(o, b)) }},
			scenario{b.name + "/streaming", func(o *options, r *report) error { return streaming(o, r, sized(o, b)) }},
			scenario{b.name + "/readiness", func(o *options, r *report) error { return readinessLag(o, r, sized(o, b)) }},
			scenario{b.name + "/crash", func(o *options, r *report) error { return crashToServing(o, r, sized(o, b)) }},
		)
	}
	list = append(list, scenario{"stand-in/no-nodelay", noNoDelay}, scenario{"custos/memory", memory}, scenario{"custos/swap", swap})
	return append(list, engineScenarios()...)
}

func sized(o *options, b backend) backend {
	if o.quick {
		return b.quick()
	}
	return b
}

// withCustos runs custos on a model configuration in a fresh folder, waits
// until the model is ready, and hands both to f.
func withCustos(o *options, yaml string, f func(c *custosProc, m modelStatus) error) error {
	return withCustosModels(o, yaml, func(c *custosProc) error {
		m, err := c.waitReady("tiny", 2*time.Minute)
		if err != nil {
			return err
		}
		return f(c, m)
	})
}

// warm sends a few requests to each target so that connections exist and
// the backend's caches are as they will be during the measurement.
func warm(l *loadClient, targets ...string) error {
	for _, t := range targets {
		if _, err := l.latencies(t, 20); err != nil {
			return fmt.Errorf("warm-up of %s: %w", t, err)
		}
	}
	return nil
}

// latency: one client, sequential non-streaming requests, direct and
// through custos (and, for the stand-in, through a bare TCP relay: the
// floor for any proxy process) in rounds whose order rotates.
func latency(o *options, rep *report, b backend) error {
	yaml, err := b.model(o, b.proxyExtra)
	if err != nil {
		return err
	}
	return withCustos(o, yaml, func(c *custosProc, m modelStatus) error {
		l := newLoadClient(b.maxTokens)
		targets := []string{m.URL, "http://" + c.addr}
		{
			relay, err := startReferenceProxy(tcpRelayFlag, m.URL)
			if err != nil {
				return err
			}
			defer relay.stop()
			targets = append(targets, relay.url)
		}
		if err := warm(l, targets...); err != nil {
			return err
		}
		got := make([][]time.Duration, len(targets))
		for round := range b.latencyRounds {
			for k := range targets {
				i := (k + round) % len(targets)
				ds, err := l.latencies(targets[i], b.latencyPerRound)
				if err != nil {
					return err
				}
				got[i] = append(got[i], ds...)
			}
		}
		header := []string{"percentile", "direct", "through custos", "custos adds", "target"}
		if len(targets) == 3 {
			header = append(header, "TCP relay adds")
		}
		s := &section{
			title:  fmt.Sprintf("Added latency, 1 client, non-streaming (%s, %d requests each)", b.name, len(got[0])),
			header: header,
		}
		for _, p := range []float64{50, 90, 99} {
			pd, pt := percentile(got[0], p), percentile(got[1], p)
			target := ""
			if p == 50 {
				target = "≤ 80 µs: " + verdict(pt-pd <= 80*time.Microsecond)
			}
			row := []string{fmt.Sprintf("p%.0f", p), us(pd), us(pt), us(pt - pd), target}
			if len(targets) == 3 {
				row = append(row, us(percentile(got[2], p)-pd))
			}
			s.row(row...)
		}
		if len(targets) == 3 {
			s.note("The TCP relay copies bytes between two sockets in a process of its own and parses nothing: what a proxy process costs on this machine before it does any work.")
		}
		rep.add(s)
		return nil
	})
}

// throughputs: 8 and 64 clients in closed loops, direct and through
// custos (and, for the stand-in, through httputil.ReverseProxy and a bare
// TCP relay, each in its own process, for reference), rounds alternating.
func throughputs(o *options, rep *report, b backend) error {
	yaml, err := b.model(o, b.proxyExtra)
	if err != nil {
		return err
	}
	return withCustos(o, yaml, func(c *custosProc, m modelStatus) error {
		l := newLoadClient(b.maxTokens)
		targets := []struct{ name, url string }{{"direct", m.URL}, {"through custos", "http://" + c.addr}}
		if b.name == standinBackend.name {
			rp, err := startReferenceProxy(reverseProxyFlag, m.URL)
			if err != nil {
				return err
			}
			defer rp.stop()
			relay, err := startReferenceProxy(tcpRelayFlag, m.URL)
			if err != nil {
				return err
			}
			defer relay.stop()
			targets = append(targets, struct{ name, url string }{"httputil.ReverseProxy", rp.url}, struct{ name, url string }{"TCP relay", relay.url})
		}
		for _, t := range targets {
			if err := warm(l, t.url); err != nil {
				return err
			}
		}
		rounds, per := 3, 3*time.Second
		if o.quick {
			rounds, per = 1, time.Second
		}
		header := []string{"clients"}
		for _, t := range targets {
			header = append(header, t.name+", req/s")
		}
		header = append(header, "custos ÷ direct", "target")
		if len(targets) == 4 {
			header = append(header, "TCP relay ÷ direct")
		}
		s := &section{
			title:  fmt.Sprintf("Throughput, non-streaming (%s, %d × %v per target, alternating)", b.name, rounds, per),
			header: header,
		}
		for _, clients := range []int{8, 64} {
			rates := make([][]float64, len(targets))
			var failed int64
			for round := range rounds {
				for k := range targets {
					i := (k + round) % len(targets)
					var profiling sync.WaitGroup
					if o.profileDir != "" && clients == 8 && round == 0 && targets[i].name == "through custos" && b.name == standinBackend.name {
						profiling.Add(1)
						go func() {
							defer profiling.Done()
							path := filepath.Join(o.profileDir, "custos-cpu.pprof")
							if err := c.profile(context.Background(), per, path); err != nil {
								fmt.Fprintf(os.Stderr, "bench: profile: %v\n", err)
							} else {
								fmt.Fprintf(os.Stderr, "bench: CPU profile of custos at 8 clients: %s\n", path)
							}
						}()
					}
					r := l.throughput(targets[i].url, clients, per, 2_000_000)
					profiling.Wait()
					rates[i] = append(rates[i], r.perSecond())
					failed += r.failed
				}
			}
			row := []string{fmt.Sprint(clients)}
			for i := range targets {
				row = append(row, fmt.Sprintf("%.0f", median(rates[i])))
			}
			x := median(rates[1]) / median(rates[0])
			target := ""
			if clients == 8 {
				target = "≥ 0.40×: " + verdict(x >= 0.4)
			}
			row = append(row, ratio(x), target)
			if len(targets) == 4 {
				row = append(row, ratio(median(rates[3])/median(rates[0])))
			}
			s.row(row...)
			if failed > 0 {
				s.note("%d clients: %d requests failed", clients, failed)
			}
		}
		if len(targets) == 4 {
			s.note("httputil.ReverseProxy with default settings, and the TCP relay (bytes copied between two sockets, nothing parsed), each in a process of its own like custos, for reference: the relay is the ceiling of any proxy process on this machine.")
		}
		rep.add(s)
		return nil
	})
}

// streaming: time to first event and the gaps between events of streamed
// answers, direct and through custos.
func streaming(o *options, rep *report, b backend) error {
	const chunks, interval = 64, 2 * time.Millisecond
	yaml, err := b.model(o, b.proxyExtra, "--stream-chunks", fmt.Sprint(chunks), "--chunk-interval", interval.String())
	if err != nil {
		return err
	}
	return withCustos(o, yaml, func(c *custosProc, m modelStatus) error {
		relay, err := startReferenceProxy(tcpRelayFlag, m.URL)
		if err != nil {
			return err
		}
		defer relay.stop()
		l := newLoadClient(64)
		targets := []string{m.URL, "http://" + c.addr, relay.url}
		type acc struct {
			ttft, gaps []time.Duration
			events     []int
		}
		got := make([]acc, len(targets))
		for round := range b.streamRounds {
			for k := range targets {
				i := (k + round) % len(targets)
				for range b.streamsPerRound {
					st, err := l.stream(context.Background(), targets[i])
					if err != nil {
						return err
					}
					got[i].ttft = append(got[i].ttft, st.ttft)
					got[i].gaps = append(got[i].gaps, st.gaps...)
					got[i].events = append(got[i].events, st.events)
				}
			}
		}
		d, t, r := got[0], got[1], got[2]
		s := &section{
			title:  fmt.Sprintf("Streaming (%s, %d streams each)", b.name, len(d.ttft)),
			header: []string{"what", "direct", "through custos", "custos adds", "TCP relay adds"},
		}
		row := func(what string, p float64, pick func(acc) []time.Duration) {
			pd := percentile(pick(d), p)
			s.row(fmt.Sprintf("%s, p%.0f", what, p), us(pd), us(percentile(pick(t), p)), us(percentile(pick(t), p)-pd), us(percentile(pick(r), p)-pd))
		}
		ttft := func(a acc) []time.Duration { return a.ttft }
		gaps := func(a acc) []time.Duration { return a.gaps }
		row("time to first event", 50, ttft)
		row("time to first event", 99, ttft)
		row("gap between events", 50, gaps)
		row("gap between events", 99, gaps)
		s.row("events per stream", fmt.Sprint(d.events[0]), fmt.Sprint(t.events[0]), "", "")
		for i := range d.events {
			if d.events[i] != t.events[i] {
				s.note("**streams differ in event count**: %d direct, %d through custos", d.events[i], t.events[i])
				break
			}
		}
		if b.name == standinBackend.name {
			s.note("The stand-in sends %d events %v apart: a gap through custos near the direct one means no event is held back.", chunks, interval)
		}
		rep.add(s)
		return nil
	})
}

// readinessLag: from the backend's own /health turning 200 to custos's
// /readyz turning 200, on fresh starts of custos.
func readinessLag(o *options, rep *report, b backend) error {
	yaml, err := b.model(o, "    ready_timeout: 60s\n", "--load-time", "300ms")
	if err != nil {
		return err
	}
	var lags []time.Duration
	skipped := 0
	for range b.readinessStarts {
		lag, valid, err := readinessOnce(o, yaml)
		if err != nil {
			return err
		}
		if !valid {
			skipped++
			continue
		}
		lags = append(lags, lag)
	}
	s := &section{
		title:  fmt.Sprintf("Readiness lag (%s): backend /health 200 → custos /readyz 200", b.name),
		header: []string{"starts", "p50", "max", "target"},
	}
	if len(lags) == 0 {
		return errors.New("no start could be observed: the backend was ready before its URL was known")
	}
	s.row(fmt.Sprint(len(lags)), ms(percentile(lags, 50)), ms(percentile(lags, 100)), "≤ 20 ms: "+verdict(percentile(lags, 100) <= 20*time.Millisecond))
	s.note("Both endpoints polled every 250 µs from the bench; a fresh custos per start.")
	if skipped > 0 {
		s.note("%d starts not counted: the backend answered 200 at the first poll, so its turn could not be timed.", skipped)
	}
	rep.add(s)
	return nil
}

// readinessOnce starts a fresh custos on yaml and times its readiness lag
// as observeReadiness does.
func readinessOnce(o *options, yaml string) (lag time.Duration, valid bool, err error) {
	dir, err := os.MkdirTemp("", "custos-bench-")
	if err != nil {
		return 0, false, err
	}
	defer os.RemoveAll(dir)
	c, err := startCustos(o.custos, dir, yaml)
	if err != nil {
		return 0, false, err
	}
	defer c.stop()
	return observeReadiness(c)
}

// observeReadiness polls the starting backend's /health and custos's
// /readyz until both answer 200. valid is false when the backend was
// already ready at the first poll.
func observeReadiness(c *custosProc) (lag time.Duration, valid bool, err error) {
	var m modelStatus
	if err := c.waitFor("backend URL", time.Minute, func() bool {
		m, err = c.model("tiny")
		return err == nil && m.URL != ""
	}); err != nil {
		return 0, false, err
	}
	// The poller's connections acknowledge at once, as custos's do, so a
	// backend without TCP_NODELAY is not seen ready a delayed ACK late.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: (&quickack.Dialer{}).DialContext}}
	defer client.CloseIdleConnections()
	firstOK := func(url string, first *bool) (time.Time, error) {
		deadline := time.Now().Add(2 * time.Minute)
		for polls := 0; time.Now().Before(deadline); polls++ {
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					if first != nil {
						*first = polls == 0
					}
					return time.Now(), nil
				}
			}
			time.Sleep(250 * time.Microsecond)
		}
		return time.Time{}, fmt.Errorf("%s did not turn 200", url)
	}
	var (
		healthAt, readyAt time.Time
		healthErr         error
		readyAtFirst      bool
		wg                sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		healthAt, healthErr = firstOK(m.URL+"/health", &readyAtFirst)
	}()
	readyAt, err = firstOK(c.url("/readyz"), nil)
	wg.Wait()
	if err != nil {
		return 0, false, err
	}
	if healthErr != nil {
		return 0, false, healthErr
	}
	return readyAt.Sub(healthAt), !readyAtFirst, nil
}

// noNoDelay: the stand-in with --no-nodelay, which leaves TCP_NODELAY off
// and writes each answer's head and body apart as Python's http.server
// does, beside the plain stand-in in the same run: readiness lag on fresh
// starts, then sequential requests direct and through custos (one custos
// per stand-in, both running), starts and rounds alternating.
func noNoDelay(o *options, rep *report) error {
	b := sized(o, standinBackend)
	flags := [][]string{nil, {"--no-nodelay"}}
	lags := make([][]time.Duration, len(flags))
	skipped := 0
	for start := range b.readinessStarts {
		for k := range flags {
			i := (k + start) % len(flags)
			yaml, err := b.model(o, "    ready_timeout: 60s\n", append([]string{"--load-time", "300ms"}, flags[i]...)...)
			if err != nil {
				return err
			}
			lag, valid, err := readinessOnce(o, yaml)
			if err != nil {
				return err
			}
			if !valid {
				skipped++
				continue
			}
			lags[i] = append(lags[i], lag)
		}
	}
	if len(lags[0]) == 0 || len(lags[1]) == 0 {
		return errors.New("no start could be observed: the backend was ready before its URL was known")
	}
	yamls := make([]string, len(flags))
	for i, f := range flags {
		var err error
		if yamls[i], err = b.model(o, b.proxyExtra, f...); err != nil {
			return err
		}
	}
	rounds, per := 4, 50
	if o.quick {
		rounds, per = 2, 10
	}
	return withCustos(o, yamls[0], func(plain *custosProc, pm modelStatus) error {
		return withCustos(o, yamls[1], func(nagle *custosProc, nm modelStatus) error {
			// direct and through custos for the plain stand-in, then for --no-nodelay.
			targets := []string{pm.URL, "http://" + plain.addr, nm.URL, "http://" + nagle.addr}
			l := newLoadClient(b.maxTokens)
			if err := warm(l, targets...); err != nil {
				return err
			}
			got := make([][]time.Duration, len(targets))
			for round := range rounds {
				for k := range targets {
					i := (k + round) % len(targets)
					ds, err := l.latencies(targets[i], per)
					if err != nil {
						return err
					}
					got[i] = append(got[i], ds...)
				}
			}
			s := &section{
				title: fmt.Sprintf("Backend without TCP_NODELAY (stand-in --no-nodelay beside the stand-in, %d starts and %d requests each)",
					len(lags[1]), len(got[0])),
				header: []string{"what", "stand-in", "stand-in --no-nodelay", "target"},
			}
			s.row("readiness lag, p50", ms(percentile(lags[0], 50)), ms(percentile(lags[1], 50)), "")
			s.row("readiness lag, max", ms(percentile(lags[0], 100)), ms(percentile(lags[1], 100)),
				"≤ 20 ms: "+verdict(percentile(lags[1], 100) <= 20*time.Millisecond))
			through := []time.Duration{percentile(got[1], 50), percentile(got[3], 50)}
			s.row("request through custos, p50", us(through[0]), us(through[1]),
				"≤ stand-in's + 1 ms: "+verdict(through[1] <= through[0]+time.Millisecond))
			s.row("request through custos, p99", us(percentile(got[1], 99)), us(percentile(got[3], 99)), "")
			s.row("request direct (Go's net/http client), p50", us(percentile(got[0], 50)), us(percentile(got[2], 50)), "")
			s.note("--no-nodelay does what Python's http.server does: TCP_NODELAY off, head and body in two writes, so Nagle's algorithm sends the body only once the head is acknowledged. " +
				"A client that delays that ACK (Linux: 40 ms or more) waits as long for every answer, as Go's net/http client does direct; " +
				"custos's probes and backend connections acknowledge at once (TCP_QUICKACK after every read, internal/quickack).")
			s.note("Readiness lag as in the readiness table; the bench's /health poller acknowledges at once too, so it sees the backend's turn when it happens.")
			if skipped > 0 {
				s.note("%d starts not counted: the backend answered 200 at the first poll, so its turn could not be timed.", skipped)
			}
			rep.add(s)
			return nil
		})
	})
}

// crashToServing: kill -9 the backend, then time the first request that
// succeeds through custos, and when /status shows the model ready again.
// Subtracting the backend's own load time (custos logs it) and the
// configured first restart delay from the latter leaves what custos
// itself spends noticing the crash and restarting.
func crashToServing(o *options, rep *report, b backend) error {
	const backoff, stableAfter = 100 * time.Millisecond, time.Second
	yaml, err := b.model(o, fmt.Sprintf("    ready_timeout: 60s\n    restart_backoff: %v\n    stable_after: %v\n", backoff, stableAfter))
	if err != nil {
		return err
	}
	return withCustos(o, yaml, func(c *custosProc, m modelStatus) error {
		l := newLoadClient(b.maxTokens)
		through := "http://" + c.addr
		if err := warm(l, through); err != nil {
			return err
		}
		var totals, readies, loads, own []time.Duration
		for range b.crashes {
			// Stay ready past stable_after, so each crash is a first
			// failure with the base restart delay.
			time.Sleep(stableAfter + 200*time.Millisecond)
			m, err := c.waitReady("tiny", time.Minute)
			if err != nil {
				return err
			}
			starts := len(c.backendStarts())
			killedAt := time.Now()
			if err := syscall.Kill(m.PID, syscall.SIGKILL); err != nil {
				return err
			}
			readyAgain := make(chan time.Duration, 1)
			go func() {
				_ = c.waitFor("the model ready on a new process", 2*time.Minute, func() bool {
					n, err := c.model("tiny")
					return err == nil && n.State == "ready" && n.PID != m.PID
				})
				readyAgain <- time.Since(killedAt)
			}()
			for {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := l.chat(ctx, through)
				cancel()
				if err == nil {
					break
				}
				if time.Since(killedAt) > 2*time.Minute {
					return fmt.Errorf("no request succeeded within 2 minutes of the crash: %v", err)
				}
			}
			total := time.Since(killedAt)
			ready := <-readyAgain
			if err := c.waitFor("the restart's load time in the log", 10*time.Second, func() bool { return len(c.backendStarts()) > starts }); err != nil {
				return err
			}
			load := c.backendStarts()[starts]
			totals, readies, loads = append(totals, total), append(readies, ready), append(loads, load)
			own = append(own, ready-load-backoff)
		}
		s := &section{
			title:  fmt.Sprintf("Crash to serving again (%s, kill -9 of the backend, %d times)", b.name, len(totals)),
			header: []string{"what", "p50", "max"},
		}
		s.row("kill → first successful request through custos", ms(percentile(totals, 50)), ms(percentile(totals, 100)))
		s.row("kill → /status shows the model ready again", ms(percentile(readies, 50)), ms(percentile(readies, 100)))
		s.row("the backend's own load time (spawn → /health 200)", ms(percentile(loads, 50)), ms(percentile(loads, 100)))
		s.row(fmt.Sprintf("custos's share: ready again − load − restart_backoff (%v)", backoff), ms(percentile(own, 50)), ms(percentile(own, 100)))
		s.note("restart_backoff is the first restart delay (default 1s); each crash came after stable_after, so it was a first failure. " +
			"/status is polled every millisecond. From ready again to the first success is the first request's own time on a fresh backend.")
		rep.add(s)
		return nil
	})
}
