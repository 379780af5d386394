package gateway

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"custos/internal/config"
)

// benchBody is a chat request of a typical size: a system prompt and a
// question, about 1 KiB.
var benchBody = []byte(`{"model":"tiny","messages":[{"role":"system","content":"` +
	strings.Repeat("You are a helpful assistant. ", 30) + `"},{"role":"user","content":"What is the capital of France?"}],"max_tokens":16,"temperature":0}`)

// BenchmarkProxy compares one client's sequential chat requests sent
// straight to a fast backend, through the gateway, and through
// httputil.ReverseProxy with its defaults, all over loopback in one
// process; custos-renaming is the gateway in front of a backend whose
// answers name another model than the client asked for, each rewritten. The differences are what each proxy adds per request; run it
// with -cpuprofile to see where the gateway's share goes.
func BenchmarkProxy(b *testing.B) {
	f := newFixture(b, http.HandlerFunc(ok), func(c *config.Config) { c.Models[0].MaxConcurrency = 64; c.Models[0].QueueMax = 1024 })
	backendURL, _ := url.Parse(f.upstream.snap.URL)
	rp := httptest.NewServer(httputil.NewSingleHostReverseProxy(backendURL))
	b.Cleanup(rp.Close)
	// renaming: a backend that names its model by its file, as
	// llama-server does, so that every answer is rewritten.
	renaming := newFixture(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"hello"}}],"model":"`+backendPath+`","object":"chat.completion"}`)
	}), func(c *config.Config) { c.Models[0].MaxConcurrency = 64; c.Models[0].QueueMax = 1024 })
	targets := []struct{ name, url string }{
		{"direct", backendURL.String()},
		{"custos", f.server.URL},
		{"custos-renaming", renaming.server.URL},
		{"reverseproxy", rp.URL},
	}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					post(b, client, tg.url)
				}
			})
			b.Run("parallel8", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						post(b, client, tg.url)
					}
				})
			})
		})
	}
}

func post(b *testing.B, client *http.Client, base string) {
	resp, err := client.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(benchBody))
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("status %d", resp.StatusCode)
	}
}
