package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// swapYAML is two stand-in models loaded on demand under a budget that
// holds one: every request for the other model is a swap.
func swapYAML(o *options, flags ...string) (string, error) {
	bin, err := filepath.Abs(o.standin)
	if err != nil {
		return "", err
	}
	argv := []string{quote(bin), `"--host"`, `"${HOST}"`, `"--port"`, `"${PORT}"`}
	for _, f := range flags {
		argv = append(argv, quote(f))
	}
	var b strings.Builder
	b.WriteString("resources: {memory: 1536MiB}\nmodels:\n")
	for _, id := range []string{"a", "b"} {
		fmt.Fprintf(&b, "  %s:\n    backend: llama-server\n    cmd: [%s]\n    load: on_demand\n    memory: 1GiB\n"+
			"    health_interval: 1s\n    stop_timeout: 5s\n    max_concurrency: 8\n    queue_max: 256\n", id, strings.Join(argv, ", "))
	}
	return b.String(), nil
}

// swap: what custos adds to a swap — a request for an unloaded model,
// through evicting the loaded one, starting the backend and noticing it
// ready, to the first byte — beside the backend's own stop and cold start
// to its first answer, measured directly; and how many requests a swap
// serves when two models' clients alternate under a budget for one,
// beside a naive policy that loads the model of each request as it
// arrives.
func swap(o *options, rep *report) error {
	rounds, requests := 12, 200
	if o.quick {
		rounds, requests = 4, 40
	}
	yaml, err := swapYAML(o)
	if err != nil {
		return err
	}
	var through, direct []time.Duration
	err = withCustosModels(o, yaml, func(c *custosProc) error {
		client := &http.Client{Timeout: time.Minute}
		if _, err := firstByte(client, c.url("/v1/chat/completions"), "a"); err != nil {
			return err
		}
		for i := range rounds {
			id := []string{"b", "a"}[i%2]
			d, err := firstByte(client, c.url("/v1/chat/completions"), id)
			if err != nil {
				return err
			}
			through = append(through, d)
			cold, err := directSwap(o)
			if err != nil {
				return err
			}
			direct = append(direct, cold)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s := &section{
		title:  "Swap: a request for an unloaded model under a budget for one (stand-in, alternating a and b)",
		header: []string{"what", "p50", "p90", "custos adds, p50", "target"},
	}
	added := percentile(through, 50) - percentile(direct, 50)
	s.row("through custos: request → first byte, evicting the other", ms(percentile(through, 50)), ms(percentile(through, 90)), ms(added),
		"≤ 20 ms: "+verdict(added <= 20*time.Millisecond))
	s.row("the backend alone: SIGTERM the other, start, /health 200, first byte", ms(percentile(direct, 50)), ms(percentile(direct, 90)), "", "")
	s.note("%d swaps each, interleaved. The direct side polls /health every 250 µs, so it notices the backend ready at once; custos's share is the rest: choosing the victim, its drain, the wait for its exit, the start of the new process, custos's own readiness probe, and the request's way through.", rounds)
	rep.add(s)
	return swapBatching(o, rep, requests)
}

// firstByte sends one chat request for model id and times its first byte.
func firstByte(client *http.Client, url, id string) (time.Duration, error) {
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]}`, id)
	start := time.Now()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf := make([]byte, 1)
	if _, err := resp.Body.Read(buf); err != nil && resp.StatusCode == 200 {
		return 0, err
	}
	d := time.Since(start)
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("request for %s: status %d", id, resp.StatusCode)
	}
	return d, nil
}

// directSwap is a swap without custos: SIGTERM a running stand-in and wait
// for it to exit, start another, poll its /health every 250 µs until 200,
// and time its first answer's first byte.
func directSwap(o *options) (time.Duration, error) {
	old, _, err := startStandin(o)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_ = old.Process.Signal(syscall.SIGTERM)
	_, _ = old.Process.Wait()
	next, addr, err := startStandin(o)
	if err != nil {
		return 0, err
	}
	defer func() { _ = next.Process.Kill(); _, _ = next.Process.Wait() }()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the stand-in was not ready within 30s")
		}
		time.Sleep(250 * time.Microsecond)
	}
	if _, err := firstByte(client, "http://"+addr+"/v1/chat/completions", "a"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func startStandin(o *options) (*exec.Cmd, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(o.standin, "--host", host, "--port", port)
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	return cmd, addr, nil
}

// swapBatching: requests for two models arrive alternately, a, b, a, b,
// one every 10 ms whatever their answers, under a budget for one model. A
// policy that loads the model of each request as it arrives swaps for
// every one of them; custos lets the loaded model serve what it admitted,
// then swaps once for all the other model's waiting requests.
func swapBatching(o *options, rep *report, n int) error {
	yaml, err := swapYAML(o, "--response-delay", "20ms")
	if err != nil {
		return err
	}
	return withCustosModels(o, yaml, func(c *custosProc) error {
		client := &http.Client{Timeout: 2 * time.Minute}
		var mu sync.Mutex
		served, failed := 0, 0
		var wg sync.WaitGroup
		start := time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		for i := range n {
			<-tick.C
			id := []string{"a", "b"}[i%2]
			wg.Go(func() {
				_, err := firstByte(client, c.url("/v1/chat/completions"), id)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
				} else {
					served++
				}
			})
		}
		tick.Stop()
		wg.Wait()
		took := time.Since(start)
		swaps, err := c.metricSum("custos_model_unloads_total{", `reason="evicted"`)
		if err != nil {
			return err
		}
		s := &section{
			title:  fmt.Sprintf("Requests per swap: %d requests alternating between two models, one every 10 ms, under a budget for one (stand-in, 20 ms per answer)", n),
			header: []string{"policy", "requests served", "swaps", "requests per swap"},
		}
		s.row("custos (the loaded model serves what it admitted, then one swap for the other's waiting requests)",
			fmt.Sprint(served), fmt.Sprintf("%.0f", swaps), fmt.Sprintf("%.1f", float64(served)/max(swaps, 1)))
		s.row("naive: load the model of each request as it arrives", fmt.Sprint(n), fmt.Sprint(n-1), "1.0")
		s.note("custos served all %d in %v, %d failed. The naive row follows from the arrival order, which the schedule fixes (a, b, a, b...): each request is for the model not loaded.", n, took.Round(time.Millisecond), failed)
		rep.add(s)
		return nil
	})
}

// withCustosModels runs custos on yaml in a fresh folder, without waiting
// for any model (they load on demand).
func withCustosModels(o *options, yaml string, f func(c *custosProc) error) error {
	dir, err := os.MkdirTemp("", "custos-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c, err := startCustos(o.custos, dir, yaml)
	if err != nil {
		return err
	}
	defer c.stop()
	return f(c)
}

// metricSum adds the values of a metric's series whose line holds label.
func (c *custosProc) metricSum(prefix, label string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/metrics"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	var total float64
	for _, line := range strings.Split(sb.String(), "\n") {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, label) {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				total += v
			}
		}
	}
	return total, nil
}
