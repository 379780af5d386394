package memory

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"custos/internal/gguf"
)

const mib = 1 << 20

// fields prints a Footprint's fields rather than its String.
type fields Footprint

// Shapes of real models, from their GGUF metadata; the sizes are about
// those of the files named.
var (
	// llama3_8B is Meta-Llama-3-8B-Instruct Q4_K_M.
	llama3_8B = gguf.Info{Architecture: "llama", BlockCount: 32, EmbeddingLength: 4096, HeadCount: 32,
		HeadCountKV: 8, FeedForwardLength: 14336, VocabSize: 128256, ContextLength: 8192, Size: 4920734016}
	// qwen25_05B is Qwen2.5-0.5B-Instruct Q8_0.
	qwen25_05B = gguf.Info{Architecture: "qwen2", BlockCount: 24, EmbeddingLength: 896, HeadCount: 14,
		HeadCountKV: 2, FeedForwardLength: 4864, VocabSize: 151936, ContextLength: 32768, Size: 675710816}
)

// The expected figures are computed by hand from the shapes; where llama.cpp
// logs the same figure for the same shape, the comment quotes it.
func TestEstimateOnRealShapes(t *testing.T) {
	cases := []struct {
		name       string
		info       gguf.Info
		ctx, slots int
		want       Footprint
	}{{
		// KV: 32 layers × 2 × 8192 cells × (128 × 8) × 2 bytes = 1 GiB
		// ("llama_kv_cache: size = 1024.00 MiB (8192 cells, 32 layers)").
		// Compute: 4 × 512 × (4096 + 128256) ("CPU compute buffer size =
		// 258.50 MiB").
		name: "Llama-3-8B at its trained 8192", info: llama3_8B, ctx: 8192, slots: 1,
		want: Footprint{Context: 8192, Slots: 1, Cells: 8192, Weights: 4920734016, KVCache: 1 << 30,
			Compute: 271056896, Overhead: 64*mib + 4*128256},
	}, {
		// The default context is the runner's cap, 4096: half the cache.
		name: "Llama-3-8B at the default context", info: llama3_8B, ctx: 0, slots: 1,
		want: Footprint{Context: 4096, Slots: 1, Cells: 4096, Weights: 4920734016, KVCache: 512 * mib,
			Compute: 271056896, Overhead: 64*mib + 4*128256},
	}, {
		// Slots share the context: four of them hold the same 8192 cells,
		// with an output row each.
		name: "Llama-3-8B, 8192 tokens over 4 slots", info: llama3_8B, ctx: 8192, slots: 4,
		want: Footprint{Context: 8192, Slots: 4, Cells: 8192, Weights: 4920734016, KVCache: 1 << 30,
			Compute: 271056896, Overhead: 64*mib + 4*128256*4},
	}, {
		// KV: 24 × 2 × 32768 × (64 × 2) × 2 = 384 MiB ("KV self size =
		// 384.00 MiB"); compute 4 × 512 × (896 + 151936) ("CPU compute
		// buffer size = 298.50 MiB").
		name: "Qwen2.5-0.5B at its trained 32768", info: qwen25_05B, ctx: 32768, slots: 1,
		want: Footprint{Context: 32768, Slots: 1, Cells: 32768, Weights: 675710816, KVCache: 384 * mib,
			Compute: 4 * 512 * (896 + 151936), Overhead: 64*mib + 4*151936},
	}, {
		// "n_seq_max = 4, n_ctx = 2048, n_ctx_per_seq = 512", "KV self size =
		// 24.00 MiB", "CPU output buffer size = 2.32 MiB" (4 × 151936 × 4).
		name: "Qwen2.5-0.5B, 2048 tokens over 4 slots", info: qwen25_05B, ctx: 2048, slots: 4,
		want: Footprint{Context: 2048, Slots: 4, Cells: 2048, Weights: 675710816, KVCache: 24 * mib,
			Compute: 4 * 512 * (896 + 151936), Overhead: 64*mib + 4*151936*4},
	}, {
		// A context below one ubatch: the cache rounds up to 256 cells, and
		// the compute pass holds those 256 tokens.
		name: "Qwen2.5-0.5B at 100 tokens", info: qwen25_05B, ctx: 100, slots: 0,
		want: Footprint{Context: 100, Slots: 1, Cells: 256, Weights: 675710816, KVCache: 3 * mib,
			Compute: 4 * 256 * (896 + 151936), Overhead: 64*mib + 4*151936},
	}, {
		// A small vocabulary: the feed-forward stage is the peak,
		// 4 × 512 × (3 × 14336 + 5 × 4096) = 124 MiB.
		name: "Llama-3-8B layers with a small vocabulary",
		info: gguf.Info{BlockCount: 32, EmbeddingLength: 4096, HeadCount: 32, HeadCountKV: 8,
			FeedForwardLength: 14336, VocabSize: 32000, Size: 1 << 32},
		ctx: 4096, slots: 1,
		want: Footprint{Context: 4096, Slots: 1, Cells: 4096, Weights: 1 << 32, KVCache: 512 * mib,
			Compute: 124 * mib, Overhead: 64*mib + 4*32000},
	}, {
		// A model trained on less than the cap gets its trained length.
		name: "trained on 1024", info: gguf.Info{ContextLength: 1024}, ctx: 0, slots: 1,
		want: Footprint{Context: 1024, Slots: 1, Cells: 1024, Overhead: 64 * mib},
	}, {
		// Without metadata only the process is left.
		name: "no metadata", info: gguf.Info{}, ctx: -1, slots: -3,
		want: Footprint{Context: 4096, Slots: 1, Cells: 4096, Overhead: 64 * mib},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.Total = c.want.Weights + c.want.KVCache + c.want.Compute + c.want.Overhead
			if got := Estimate(c.info, c.ctx, c.slots); got != c.want {
				t.Errorf("Estimate(ctx %d, slots %d)\n got %+v\nwant %+v", c.ctx, c.slots, fields(got), fields(c.want))
			}
		})
	}
}

// The cell counts custos runner (llama.cpp v0.5.0) reported as n_ctx for
// these -c and -np.
func TestKVCellsRoundAsLlamaCpp(t *testing.T) {
	cases := []struct{ ctx, slots, want int64 }{
		{1000, 1, 1024},
		{1000, 4, 1024},
		{4096, 32, 8192},
		{4100, 3, 4608},
		{8192, 1, 8192},
		{1, 1, 256},
		{256, 4, 1024},
	}
	for _, c := range cases {
		if got := kvCells(c.ctx, c.slots); got != c.want {
			t.Errorf("kvCells(%d, %d) = %d, want %d", c.ctx, c.slots, got, c.want)
		}
	}
}

// A hostile file's metadata saturates the estimate instead of wrapping it
// round to something small.
func TestEstimateSaturates(t *testing.T) {
	huge := gguf.Info{BlockCount: math.MaxInt32, EmbeddingLength: math.MaxInt32, HeadCount: 1,
		HeadCountKV: math.MaxInt32, FeedForwardLength: math.MaxInt32, VocabSize: math.MaxInt32, Size: math.MaxInt64}
	f := Estimate(huge, math.MaxInt, math.MaxInt)
	if f.KVCache != math.MaxInt64 || f.Total != math.MaxInt64 || f.Cells != math.MaxInt64 {
		t.Errorf("Estimate of a hostile shape: %+v", f)
	}
}

// The estimate of a generated model, read back from its file as custos
// reads every model.
func TestEstimateOfAGeneratedModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.gguf")
	opts := gguf.GenOptions{Dim: 128, Layers: 2, Heads: 4, KVHeads: 2, FFN: 384, ContextLength: 1024}
	if err := gguf.GenerateFile(path, opts); err != nil {
		t.Fatal(err)
	}
	file, err := gguf.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info := file.Info()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.BlockCount != 2 || info.EmbeddingLength != 128 || info.HeadCount != 4 || info.HeadCountKV != 2 ||
		info.FeedForwardLength != 384 || info.ContextLength != 1024 || info.VocabSize <= 0 || info.Size != st.Size() {
		t.Fatalf("the generated model reads back as %+v (file of %d bytes)", info, st.Size())
	}

	// The trained 1024 tokens, under the cap: 1024 cells. Head width
	// 128/4 = 32, so K and V take 2 × 32 × 2 = 128 bytes per cell per
	// layer. The feed-forward stage, 3 × 384 + 5 × 128 = 1792 floats a
	// token, exceeds the logits' 128 + vocabulary.
	want := Footprint{Context: 1024, Slots: 2, Cells: 1024, Weights: st.Size(),
		KVCache:  2 * 2 * 1024 * (32 * 2) * 2,
		Compute:  4 * 512 * max(1792, 128+int64(info.VocabSize)),
		Overhead: 64*mib + 4*int64(info.VocabSize)*2}
	want.Total = want.Weights + want.KVCache + want.Compute + want.Overhead
	if got := Estimate(info, 0, 2); got != want {
		t.Errorf("Estimate of the generated model\n got %+v\nwant %+v", fields(got), fields(want))
	}
}

func TestFootprintString(t *testing.T) {
	got := Estimate(llama3_8B, 8192, 1).String()
	want := "5.9 GiB estimated: weights 4.6 GiB (file) + KV cache 1.0 GiB (F16, 8192 cells for 1 slot) + " +
		"compute 258.5 MiB + overhead 64.5 MiB"
	if got != want {
		t.Errorf("String()\n got %q\nwant %q", got, want)
	}
}

func TestFormatBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1<<20 - 1, "1.0 MiB"},
		{1<<20 - 60, "1023.9 KiB"},
		{1 << 30, "1.0 GiB"},
		{24683896 << 10, "23.5 GiB"},
		{math.MaxInt64, "8.0 EiB"},
	}
	for _, c := range cases {
		if got := FormatBytes(c.n); got != c.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
