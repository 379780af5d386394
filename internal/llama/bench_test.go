package llama

import (
	"fmt"
	"strings"
	"testing"

	"custos/internal/gguf"
)

// benchModelOptions is the model the speed targets are stated for: embedding 256, 4 layers.
var benchModelOptions = gguf.GenOptions{Dim: 256, Layers: 4, Seed: 1}

// beyondCacheModelOptions is a model whose weights (170 MiB) cannot stay in a CPU cache, as no real
// model's can: each decode step reads them from memory, which is what batching sequences saves.
var beyondCacheModelOptions = gguf.GenOptions{Dim: 768, Layers: 6, Seed: 1}

// benchThreading is a thread count, the polling level of the context's pool, and whether the count is
// fixed or a ceiling (see threadchoice.go).
type benchThreading struct {
	threads int
	poll    int
	fixed   bool
}

func (t benchThreading) String() string {
	name := fmt.Sprintf("threads=%d", t.threads)
	if t.poll != 0 {
		name += fmt.Sprintf("/poll=%d", max(t.poll, 0))
	}
	if t.fixed {
		name += "/fixed"
	}
	return name
}

func (t benchThreading) params(p ContextParams) ContextParams {
	p.NThreads, p.Poll, p.FixedThreads = t.threads, t.poll, t.fixed
	return p
}

// benchThreads are the settings compared: the machines custos targets have 2 cores; whether the second
// thread's worker spins between graphs (llama-server's default, poll 50) or sleeps (poll 0) decides what
// it costs when the cores are shared, and so does falling back to one thread when that is faster.
var benchThreads = []benchThreading{{1, 0, false}, {2, NoPoll, true}, {2, 50, true}, {2, NoPoll, false}, {2, 50, false}}

// BenchmarkDecode measures generation through the bare binding: one greedy sample and one single-token
// Decode per token, as a runner slot does.
func BenchmarkDecode(b *testing.B) {
	benchmarkParallelDecode(b, benchModelOptions, 1, benchThreads)
}

// BenchmarkDecodeFourSequences measures four sequences generating together, one Decode of four tokens per
// step, as a runner with four busy slots does; tokens/s counts the tokens of all four.
func BenchmarkDecodeFourSequences(b *testing.B) {
	benchmarkParallelDecode(b, benchModelOptions, 4, benchThreads)
}

// BenchmarkDecodeBeyondCache compares one sequence with four in one batch on a model larger than the
// CPU's caches, with the runner's default of one thread on small machines. The default model fits in
// the L3 cache of the machines custos is tested on, so there batching gains only what the machine's
// cache contention leaves to gain.
func BenchmarkDecodeBeyondCache(b *testing.B) {
	for _, nSeq := range []int{1, 4} {
		b.Run(fmt.Sprintf("sequences=%d", nSeq), func(b *testing.B) {
			benchmarkParallelDecode(b, beyondCacheModelOptions, nSeq, []benchThreading{{1, 0, false}})
		})
	}
}

func benchmarkParallelDecode(b *testing.B, o gguf.GenOptions, nSeq int, threadings []benchThreading) {
	m := loadModel(b, o)
	prompt := tokens(b, m, "The quick brown fox")
	for _, th := range threadings {
		b.Run(th.String(), func(b *testing.B) {
			c := newContext(b, m, th.params(ContextParams{NCtx: 1024 * nSeq, NSeqMax: nSeq}))
			batch := newBatch(b, len(prompt)*nSeq, 1)
			samplers := make([]*Sampler, nSeq)
			for i := range samplers {
				samplers[i] = NewSampler(m, SamplerParams{})
				defer samplers[i].Close()
			}
			idx := make([]int32, nSeq)
			var pos int32
			start := func() {
				c.ClearMemory()
				batch.Clear()
				for seq := range nSeq {
					fillPrompt(batch, prompt, int32(seq), 0)
					idx[seq] = int32(batch.Len() - 1)
				}
				decode(b, c, batch)
				pos = int32(len(prompt))
			}
			start()
			b.ResetTimer()
			for range b.N {
				if int(pos) >= c.NCtxSeq() {
					b.StopTimer()
					start()
					b.StartTimer()
				}
				next := make([]Token, nSeq)
				for seq, s := range samplers {
					next[seq] = s.Sample(c, idx[seq])
				}
				batch.Clear()
				for seq, tok := range next {
					idx[seq] = int32(batch.Len())
					batch.Add(tok, pos, []int32{int32(seq)}, true)
				}
				decode(b, c, batch)
				pos++
			}
			b.ReportMetric(float64(b.N*nSeq)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkPromptProcessing measures decoding a 256-token prompt in one batch.
func BenchmarkPromptProcessing(b *testing.B) {
	m := loadModel(b, benchModelOptions)
	prompt := tokens(b, m, strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40))[:256]
	benchPrompt(b, m, prompt, benchThreads, ContextParams{NCtx: 1024})
}

// BenchmarkPromptProcessingBeyondCache measures the engine bench's prompt scenario through the bare
// binding: 1,000 token ids in one Decode on the 768×6 model, in a context shaped as the runner's
// (-np 4 -c 4096), so the binding's rate can be set beside the runner's and llama-server's.
func BenchmarkPromptProcessingBeyondCache(b *testing.B) {
	m := loadModel(b, beyondCacheModelOptions)
	prompt := make([]Token, 1000)
	for i := range prompt {
		prompt[i] = Token(1 + (i*7919)%(m.NVocab()-1))
	}
	benchPrompt(b, m, prompt, []benchThreading{{1, 0, false}, {2, 50, true}}, ContextParams{NCtx: 4096, NSeqMax: 4})
}

// benchPrompt decodes prompt in one batch from an empty memory, once per iteration, for each threading.
func benchPrompt(b *testing.B, m *Model, prompt []Token, threadings []benchThreading, params ContextParams) {
	for _, th := range threadings {
		b.Run(th.String(), func(b *testing.B) {
			c := newContext(b, m, th.params(params))
			batch := newBatch(b, len(prompt), 1)
			for range b.N {
				c.ClearMemory()
				batch.Clear()
				fillPrompt(batch, prompt, 0, 0)
				decode(b, c, batch)
			}
			b.ReportMetric(float64(b.N*len(prompt))/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
