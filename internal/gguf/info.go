package gguf

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// Info is the summary of a model that people and the server's defaults need.
// Absent fields are zero.
type Info struct {
	Architecture      string `json:"architecture"`
	Name              string `json:"name,omitempty"`
	ChatTemplate      string `json:"chat_template,omitempty"`
	ContextLength     int    `json:"context_length"`
	EmbeddingLength   int    `json:"embedding_length"`
	BlockCount        int    `json:"block_count"`
	HeadCount         int    `json:"head_count"`
	HeadCountKV       int    `json:"head_count_kv"`
	FeedForwardLength int    `json:"feed_forward_length"`
	VocabSize         int    `json:"vocab_size"`
	// ParameterCount is the number of tensor elements in the file.
	ParameterCount uint64 `json:"parameter_count"`
	// FileType names the weights' encoding, from general.file_type or, when
	// that is absent, guessed from the matrices ("Q4_K_M", "F16 (guessed)").
	FileType    string `json:"file_type"`
	Size        int64  `json:"size"`
	Version     uint32 `json:"gguf_version"`
	TensorCount int    `json:"tensor_count"`
}

// Info summarises the file's metadata. Architecture-specific keys are read
// under general.architecture's prefix ("llama.context_length").
func (f *File) Info() Info {
	arch, _ := f.String("general.architecture")
	name, _ := f.String("general.name")
	tmpl, _ := f.String("tokenizer.chat_template")
	in := Info{
		Architecture:      arch,
		Name:              name,
		ChatTemplate:      tmpl,
		ContextLength:     f.archInt(arch, "context_length"),
		EmbeddingLength:   f.archInt(arch, "embedding_length"),
		BlockCount:        f.archInt(arch, "block_count"),
		HeadCount:         f.archInt(arch, "attention.head_count"),
		HeadCountKV:       f.archInt(arch, "attention.head_count_kv"),
		FeedForwardLength: f.archInt(arch, "feed_forward_length"),
		VocabSize:         f.archInt(arch, "vocab_size"),
		FileType:          f.fileType(),
		Size:              f.Size,
		Version:           f.Version,
		TensorCount:       len(f.Tensors),
	}
	if in.HeadCountKV == 0 {
		in.HeadCountKV = in.HeadCount
	}
	if in.VocabSize == 0 {
		if kv, ok := f.Get("tokenizer.ggml.tokens"); ok {
			if a, ok := kv.Value.(Array); ok {
				in.VocabSize = a.Len()
			}
		}
	}
	for _, t := range f.Tensors {
		in.ParameterCount += t.Elements()
	}
	return in
}

// archInt reads an architecture key as an int. Some architectures store a
// per-layer array (head counts that vary by layer); then the largest value
// is reported. Missing, negative or oversized values read as 0.
func (f *File) archInt(arch, key string) int {
	if arch == "" {
		return 0
	}
	kv, ok := f.Get(arch + "." + key)
	if !ok {
		return 0
	}
	best := uint64(0)
	if a, isArray := kv.Value.(Array); isArray {
		forEachUint(a, func(n uint64) { best = max(best, n) })
	} else if n, ok := asUint(kv.Value); ok {
		best = n
	}
	if best > 1<<31-1 {
		return 0
	}
	return int(best)
}

// forEachUint calls fn with each non-negative integer element of a.
func forEachUint(a Array, fn func(uint64)) {
	each := func(n int, at func(int) any) {
		for i := range n {
			if u, ok := asUint(at(i)); ok {
				fn(u)
			}
		}
	}
	switch v := a.Values.(type) {
	case []uint8:
		each(len(v), func(i int) any { return v[i] })
	case []int8:
		each(len(v), func(i int) any { return v[i] })
	case []uint16:
		each(len(v), func(i int) any { return v[i] })
	case []int16:
		each(len(v), func(i int) any { return v[i] })
	case []uint32:
		each(len(v), func(i int) any { return v[i] })
	case []int32:
		each(len(v), func(i int) any { return v[i] })
	case []uint64:
		each(len(v), func(i int) any { return v[i] })
	case []int64:
		each(len(v), func(i int) any { return v[i] })
	}
}

// fileTypeNames names llama_ftype values (llama.h); missing numbers were
// removed from the format.
var fileTypeNames = map[uint64]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
	22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
	28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
	37: "TQ2_0", 38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0", 41: "Q2_0",
}

func (f *File) fileType() string {
	if n, ok := f.Uint("general.file_type"); ok {
		if name, known := fileTypeNames[n]; known {
			return name
		}
		return fmt.Sprintf("unknown (%d)", n)
	}
	// Without the key, the type holding most matrix elements names the file,
	// as one-dimensional tensors (norms) usually stay F32.
	weight := map[TensorType]uint64{}
	for _, t := range f.Tensors {
		if len(t.Dims) >= 2 {
			weight[t.Type] += t.Elements()
		}
	}
	best, bestN := TensorType(0), uint64(0)
	for t, n := range weight {
		if n > bestN || (n == bestN && t < best) {
			best, bestN = t, n
		}
	}
	if bestN == 0 {
		return ""
	}
	return best.String() + " (guessed)"
}

// WriteText prints the summary for people. Text from the file is escaped, so
// a hostile file cannot send control sequences to a terminal.
func (in Info) WriteText(w io.Writer) error {
	var b strings.Builder
	row := func(label, value string) { fmt.Fprintf(&b, "%-16s %s\n", label, value) }
	row("architecture", orNone(printable(in.Architecture, false)))
	row("name", orNone(printable(in.Name, false)))
	row("parameters", fmt.Sprintf("%s (%d)", humanCount(in.ParameterCount), in.ParameterCount))
	row("file type", orNone(in.FileType))
	row("context length", strconv.Itoa(in.ContextLength))
	row("embedding", strconv.Itoa(in.EmbeddingLength))
	row("layers", strconv.Itoa(in.BlockCount))
	row("heads", fmt.Sprintf("%d (kv %d)", in.HeadCount, in.HeadCountKV))
	row("feed forward", strconv.Itoa(in.FeedForwardLength))
	row("vocab", strconv.Itoa(in.VocabSize))
	row("file size", fmt.Sprintf("%s (%d bytes)", humanBytes(in.Size), in.Size))
	row("gguf", fmt.Sprintf("v%d, %d tensors", in.Version, in.TensorCount))
	if in.ChatTemplate == "" {
		row("chat template", "(none)")
	} else {
		row("chat template", fmt.Sprintf("%d bytes:", len(in.ChatTemplate)))
		for line := range strings.SplitSeq(printable(in.ChatTemplate, true), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// printable escapes control characters and invalid UTF-8; keepLines keeps
// newlines and tabs, for multi-line text such as a template.
func printable(s string, keepLines bool) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == unicode.ReplacementChar && strings.HasPrefix(s[i:], "\xef\xbf\xbd"):
			b.WriteRune(r)
		case r == unicode.ReplacementChar:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func humanCount(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2fK", float64(n)/1e3)
	}
	return strconv.FormatUint(n, 10)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
