package remote

import (
	"testing"
	"time"

	"custos/internal/config"
)

// BenchmarkPick is the balancing decision's cost per attempt on a pool of
// four ready replicas: a choice and its Done.
func BenchmarkPick(b *testing.B) {
	for _, balance := range []string{config.BalanceLeastRequests, config.BalancePrefixAffinity} {
		b.Run(balance, func(b *testing.B) {
			m := config.Model{ID: "m", MaxConcurrency: 8, UnhealthyAfter: 3, HealthTimeout: time.Second,
				Remote: &config.Remote{URLs: []string{"http://10.0.0.1:80", "http://10.0.0.2:80", "http://10.0.0.3:80", "http://10.0.0.4:80"},
					Balance: balance, UpstreamModel: "m"}}
			p := New(m, Options{})
			for _, r := range *p.replicas.Load() {
				r.st.State = ReplicaReady
				r.publish()
			}
			key := p.Key([]byte(`{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}`))
			b.ReportAllocs()
			for b.Loop() {
				r, ok := p.Pick(key, nil)
				if !ok {
					b.Fatal("no replica")
				}
				r.Done(200, nil)
			}
		})
	}
}

// BenchmarkPrefixKey is what prefix_affinity reads of a request: a chat
// body of about 1 KiB (a system prompt and a question).
func BenchmarkPrefixKey(b *testing.B) {
	sys := make([]byte, 0, 900)
	for len(sys) < 870 {
		sys = append(sys, "You are a helpful assistant. "...)
	}
	body := []byte(`{"model":"m","messages":[{"role":"system","content":"` + string(sys) + `"},{"role":"user","content":"What is the capital of France?"}],"max_tokens":16}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if prefixKey(body) == 0 {
			b.Fatal("no key")
		}
	}
}
