package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"custos/internal/gguf"
	"custos/internal/llama/llamatest"
)

// benchTokensPerStream is how many tokens each benchmark stream generates: nearly a whole 1024-token slot,
// so that the positions decoded (and so the attention cost) match the bare-binding benchmark in package
// llama, which cycles through a 1024-token context.
const benchTokensPerStream = 1000

// BenchmarkDecodeHTTP measures end-to-end decode speed over HTTP: streamed /completion requests on the
// generated embedding-256 / 4-layer model, with 1 and 4 streams at once, reported as total tokens/s.
func BenchmarkDecodeHTTP(b *testing.B) {
	benchmarkDecodeHTTP(b, gguf.GenOptions{Dim: 256, Layers: 4, Seed: 1}, benchTokensPerStream)
}

// BenchmarkDecodeHTTPBeyondCache is the same on a model larger than the CPU's caches (170 MiB), as
// every real model is: there a decode step reads the weights from memory, and batching four streams
// shares that read. Fewer tokens per stream, as each costs more.
func BenchmarkDecodeHTTPBeyondCache(b *testing.B) {
	benchmarkDecodeHTTP(b, gguf.GenOptions{Dim: 768, Layers: 6, Seed: 1}, 100)
}

func benchmarkDecodeHTTP(b *testing.B, o gguf.GenOptions, tokensPerStream int) {
	model := filepath.Join(b.TempDir(), "bench.gguf")
	if err := gguf.GenerateFile(model, o); err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{ModelPath: model, CtxSize: 4 * 1024, Parallel: 4, LibDir: llamatest.LibDir(b), Seed: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		select {
		case <-served:
		case <-time.After(waitLimit):
			b.Errorf("Serve did not return within %v of its context's end", waitLimit)
		}
	}()
	base := "http://" + ln.Addr().String()
	if err := waitReady(base, 60*time.Second); err != nil {
		b.Fatal(err)
	}
	for _, streams := range []int{1, 4} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			var tokens int
			var elapsed time.Duration
			for b.Loop() {
				start := time.Now()
				tokens += runStreams(b, base, streams, tokensPerStream)
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(tokens)/elapsed.Seconds(), "tokens/s")
		})
	}
}

// runStreams runs n streamed completions of tokensPerStream tokens at once and returns the tokens they
// generated.
func runStreams(b *testing.B, base string, n, tokensPerStream int) int {
	var wg sync.WaitGroup
	counts := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = streamCompletion(base, i, tokensPerStream)
		}()
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			b.Fatal(errs[i])
		}
		total += counts[i]
	}
	return total
}

// streamCompletion reads one streamed completion to its end and returns tokens_predicted. It samples
// greedily, as the bare-binding benchmark does, so that the two measure the same work.
func streamCompletion(base string, seed, tokens int) (int, error) {
	body, _ := json.Marshal(map[string]any{"prompt": "Benchmark", "n_predict": tokens,
		"ignore_eos": true, "stream": true, "seed": seed, "temperature": 0})
	resp, err := testClient.Post(base+"/completion", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
		if !ok {
			continue
		}
		var ev struct {
			Stop            bool `json:"stop"`
			TokensPredicted int  `json:"tokens_predicted"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return 0, err
		}
		if ev.Stop {
			return ev.TokensPredicted, nil
		}
	}
	return 0, fmt.Errorf("stream ended without a final event: %v", sc.Err())
}
