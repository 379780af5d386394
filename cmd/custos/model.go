package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"custos/internal/gguf"
)

const modelUsage = `Usage:
  custos model gen --out FILE [--dim N] [--layers N] [--heads N] [--kv-heads N]
                   [--ffn N] [--ctx N] [--seed N] [--name NAME] [--chat-template FILE]
                   [--fim] [--rerank] [--control-tool-markers]
      write a small llama-architecture GGUF model with seeded random weights
  custos model lora --model FILE --out FILE [--rank N] [--alpha X] [--seed N]
      write a LoRA adapter GGUF with seeded random weights for a model (for --lora)
  custos model info FILE [--json]
      print a GGUF file's metadata
`

// modelCommand runs `custos model gen|lora|info`.
func modelCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, modelUsage)
		return 2
	}
	switch args[0] {
	case "gen":
		return modelGenCommand(args[1:], stdout, stderr)
	case "lora":
		return modelLoRACommand(args[1:], stdout, stderr)
	case "info":
		return modelInfoCommand(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, modelUsage)
		return 0
	}
	fmt.Fprintf(stderr, "custos model: unknown subcommand %q\n\n%s", args[0], modelUsage)
	return 2
}

func modelGenCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("model gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "path of the GGUF file to write (required)")
	var o gguf.GenOptions
	fs.IntVar(&o.Dim, "dim", 0, "embedding width (default 64)")
	fs.IntVar(&o.Layers, "layers", 0, "transformer blocks (default 2)")
	fs.IntVar(&o.Heads, "heads", 0, "attention heads (default 4)")
	fs.IntVar(&o.KVHeads, "kv-heads", 0, "key/value heads (default: --heads)")
	fs.IntVar(&o.FFN, "ffn", 0, "feed-forward width (default 4*dim)")
	fs.IntVar(&o.ContextLength, "ctx", 0, "trained context length (default 2048)")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of the random weights")
	fs.StringVar(&o.Name, "name", "", "general.name (default custos-tiny)")
	templateFile := fs.String("chat-template", "", "Jinja chat template `file` for tokenizer.chat_template (default ChatML)")
	fs.BoolVar(&o.FIMTokens, "fim", false, "add fill-in-the-middle tokens, for /infill")
	fs.BoolVar(&o.Reranker, "rerank", false, "make a reranker (rank pooling, non-causal attention), for /rerank")
	fs.BoolVar(&o.ControlToolMarkers, "control-tool-markers", false, "make the template's tool-call markers control tokens, as [TOOL_CALLS] is in Mistral's vocabularies")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "custos model gen: --out FILE is required and takes no arguments\n\n"+modelUsage)
		return 2
	}
	if *templateFile != "" {
		b, err := os.ReadFile(*templateFile)
		if err != nil {
			fmt.Fprintln(stderr, "custos model gen:", err)
			return 1
		}
		o.ChatTemplate = string(b)
	}
	if err := gguf.GenerateFile(*out, o); err != nil {
		fmt.Fprintln(stderr, "custos model gen:", err)
		return 1
	}
	f, err := gguf.ReadFile(*out)
	if err != nil {
		fmt.Fprintln(stderr, "custos model gen: reading back:", err)
		return 1
	}
	in := f.Info()
	fmt.Fprintf(stdout, "wrote %s: %s, %d parameters, %d bytes\n", *out, in.Architecture, in.ParameterCount, in.Size)
	return 0
}

func modelLoRACommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("model lora", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "the GGUF model the adapter is for (required)")
	out := fs.String("out", "", "path of the adapter GGUF file to write (required)")
	var o gguf.LoRAOptions
	fs.IntVar(&o.Rank, "rank", 0, "rank of each low-rank pair (default 4)")
	alpha := fs.Float64("alpha", 0, "adapter.lora.alpha (default: --rank)")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of the random weights")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *model == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "custos model lora: --model FILE and --out FILE are required and it takes no arguments\n\n"+modelUsage)
		return 2
	}
	o.Alpha = float32(*alpha)
	if err := gguf.GenerateLoRAFile(*out, *model, o); err != nil {
		fmt.Fprintln(stderr, "custos model lora:", err)
		return 1
	}
	f, err := gguf.ReadFile(*out)
	if err != nil {
		fmt.Fprintln(stderr, "custos model lora: reading back:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: a LoRA adapter of %d tensors for %s, %d bytes\n", *out, len(f.Tensors), *model, f.Size)
	return 0
}

func modelInfoCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("model info", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	// The file may come before or after the flags ("info FILE --json").
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, "custos model info: expected exactly one FILE\n\n"+modelUsage)
		return 2
	}
	f, err := gguf.ReadFile(files[0])
	if err != nil {
		fmt.Fprintln(stderr, "custos model info:", err)
		return 1
	}
	in := f.Info()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(in); err != nil {
			fmt.Fprintln(stderr, "custos model info:", err)
			return 1
		}
		return 0
	}
	if err := in.WriteText(stdout); err != nil {
		fmt.Fprintln(stderr, "custos model info:", err)
		return 1
	}
	return 0
}
