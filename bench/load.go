package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadClient sends the bench's requests. One keep-alive pool serves every
// target, so direct and through-custos runs pay the same client costs.
type loadClient struct {
	http      *http.Client
	body      []byte // non-streaming chat request
	streaming []byte // the same request with "stream": true
}

func newLoadClient(maxTokens int) *loadClient {
	msg := `{"model":"tiny","messages":[{"role":"user","content":"Tell me about the sea."}],"max_tokens":%d,"temperature":0%s}`
	return &loadClient{
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true, IdleConnTimeout: time.Minute,
		}},
		body:      fmt.Appendf(nil, msg, maxTokens, ""),
		streaming: fmt.Appendf(nil, msg, maxTokens, `,"stream":true`),
	}
}

// chat sends one non-streaming chat completion to base and returns how
// long the complete answer took.
func (l *loadClient) chat(ctx context.Context, base string) (time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(l.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(start), nil
}

// streamTiming is what a client sees of one streamed answer.
type streamTiming struct {
	ttft   time.Duration   // request sent → first data event
	gaps   []time.Duration // between consecutive data events
	events int
}

// stream sends one streaming chat completion and times its events.
func (l *loadClient) stream(ctx context.Context, base string) (streamTiming, error) {
	var st streamTiming
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(l.streaming))
	if err != nil {
		return st, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.http.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status %d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	last := start
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 && bytes.HasPrefix(line, []byte("data: ")) && !bytes.HasPrefix(line, []byte("data: [DONE]")) {
			now := time.Now()
			if st.events == 0 {
				st.ttft = now.Sub(start)
			} else {
				st.gaps = append(st.gaps, now.Sub(last))
			}
			last = now
			st.events++
		}
		if err == io.EOF {
			return st, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return st, err
		}
	}
}

// latencies sends n sequential requests to base.
func (l *loadClient) latencies(base string, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		d, err := l.chat(context.Background(), base)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// rate is the outcome of one closed-loop run.
type rate struct {
	ok, failed int64
	elapsed    time.Duration
}

func (r rate) perSecond() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// throughput keeps clients requests in flight against base for d (and
// at most maxRequests in all) and counts the answers.
func (l *loadClient) throughput(base string, clients int, d time.Duration, maxRequests int64) rate {
	var ok, failed, sent atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && sent.Add(1) <= maxRequests {
				if _, err := l.chat(context.Background(), base); err != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return rate{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start)}
}

// percentile returns the p-th percentile (0–100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
